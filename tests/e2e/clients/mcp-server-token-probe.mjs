// A stand-in MCP server in Node (its name matches mcp-server-*) doing an OAuth client-credentials exchange over
// HTTPS (OpenSSL inside node): its env secret buys an access token, which its next call uses.
// Usage: node mcp-server-token-probe.mjs PORT CA
import https from "node:https";
import fs from "node:fs";

const [port, caPath] = process.argv.slice(2);
const ca = fs.readFileSync(caPath);
const secret = process.env.CLIENT_SECRET;

function call(path, method, headers, body) {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: "localhost", port: Number(port), path, method, ca, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (text += d));
      res.on("end", () => resolve(text));
    });
    req.on("error", reject);
    req.end(body);
  });
}

await new Promise((r) => setTimeout(r, 500));
const answer = await call("/oauth/token", "POST", { "content-type": "application/json" },
                          JSON.stringify({ grant_type: "client_credentials", client_secret: secret }));
const accessToken = JSON.parse(answer).data.access_token;
await call("/v1/models", "GET", { authorization: `Bearer ${accessToken}` });
await new Promise((r) => setTimeout(r, 300));
