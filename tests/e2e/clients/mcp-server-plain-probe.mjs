// A stand-in MCP server in Node (its name matches mcp-server-*) calling a plain-HTTP API: the corked header and
// body pieces leave through one writev() in libuv. Usage: node mcp-server-plain-probe.mjs PORT
import http from "node:http";

const [port] = process.argv.slice(2);
const key = process.env.OPENAI_API_KEY;
await new Promise((r) => setTimeout(r, 500));
await new Promise((resolve, reject) => {
  const req = http.request(
    { host: "127.0.0.1", port: Number(port), path: "/v1/embeddings", method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json", "content-length": 24 } },
    (res) => { res.resume(); res.on("end", resolve); });
  req.on("error", reject);
  req.cork();
  req.write('{"input": ');
  req.write('"abcdefghijk"}');
  process.nextTick(() => { req.uncork(); req.end(); });
});
await new Promise((r) => setTimeout(r, 300));
