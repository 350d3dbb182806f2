// A stand-in MCP server in Node (name matches mcp-server-*) calling an API over HTTP/2 twice on one connection
// (the second request's headers are HPACK-indexed). Usage: node mcp-server-h2-probe.mjs PORT CA
import http2 from "node:http2";
import fs from "node:fs";

const [port, caPath] = process.argv.slice(2);
const token = process.env.ANTHROPIC_API_KEY;
await new Promise((r) => setTimeout(r, 500));
const session = http2.connect(`https://localhost:${port}`, { ca: fs.readFileSync(caPath) });
const call = (path) => new Promise((resolve, reject) => {
  const req = session.request({ ":method": "GET", ":path": path, "x-api-key": token, "anthropic-version": "2023-06-01" });
  req.on("response", () => {});
  req.on("data", () => {});
  req.on("end", resolve);
  req.on("error", reject);
  req.end();
});
await call("/v1/models?limit=5");
await call("/v1/models?limit=6");
session.close();
await new Promise((r) => setTimeout(r, 300));
