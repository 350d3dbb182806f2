// A stand-in MCP server in Node (its name matches mcp-server-*) calling an API over HTTPS (OpenSSL inside node)
// with a key from its environment. Usage: node mcp-server-tls-probe.mjs PORT CA [bare-host]
// bare-host: the Host header names no port (as behind a proxy or with a header set by hand): only the socket knows it.
import https from "node:https";
import fs from "node:fs";

const [port, caPath, variant] = process.argv.slice(2);
const key = process.env.OPENAI_API_KEY;
const headers = { "x-api-key": key, "content-type": "application/json" };
if (variant === "bare-host") headers.host = "localhost";
await new Promise((r) => setTimeout(r, 500));
await new Promise((resolve, reject) => {
  const req = https.request(
    { host: "localhost", port: Number(port), path: "/v1/models", method: "POST", ca: fs.readFileSync(caPath),
      headers },
    (res) => { res.resume(); res.on("end", resolve); });
  req.on("error", reject);
  req.end(JSON.stringify({ model: "gpt-test" }));
});
await new Promise((r) => setTimeout(r, 300));
