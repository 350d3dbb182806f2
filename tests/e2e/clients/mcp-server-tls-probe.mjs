// A stand-in MCP server in Node (its name matches mcp-server-*) calling an API over HTTPS (OpenSSL inside node)
// with a key from its environment. Usage: node mcp-server-tls-probe.mjs PORT CA
import https from "node:https";
import fs from "node:fs";

const [port, caPath] = process.argv.slice(2);
const key = process.env.OPENAI_API_KEY;
await new Promise((r) => setTimeout(r, 500));
await new Promise((resolve, reject) => {
  const req = https.request(
    { host: "localhost", port: Number(port), path: "/v1/models", method: "POST", ca: fs.readFileSync(caPath),
      headers: { "x-api-key": key, "content-type": "application/json" } },
    (res) => { res.resume(); res.on("end", resolve); });
  req.on("error", reject);
  req.end(JSON.stringify({ model: "gpt-test" }));
});
await new Promise((r) => setTimeout(r, 300));
