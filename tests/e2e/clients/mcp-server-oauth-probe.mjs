// A stand-in MCP server in Node (its name matches mcp-server-*) doing an RFC 8693 token exchange with a JSON body over
// HTTPS (OpenSSL inside node): SUBJECT_TOKEN from its environment buys an access token, which its next call uses.
// Usage: node mcp-server-oauth-probe.mjs PORT CA
import https from "node:https";
import fs from "node:fs";

const [port, caPath] = process.argv.slice(2);
const ca = fs.readFileSync(caPath);

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
const answer = await call("/oauth2/token", "POST", { "content-type": "application/json" }, JSON.stringify({
  grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
  subject_token: process.env.SUBJECT_TOKEN,
  subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
  audience: ["mock-api", "mock-api-2"],
  client_id: "mcp-node-probe",
}));
await call("/api/v1/items", "GET", { authorization: `Bearer ${JSON.parse(answer).access_token}` });
await new Promise((r) => setTimeout(r, 300));
