// Node HTTPS client for the throughput benchmark (name matches mcp-server-* so the agent can watch it):
// N keep-alive POSTs of 1 KiB with a bearer token, prints requests per second. Usage: node ... PORT CA N
import https from "node:https";
import fs from "node:fs";

const [port, caPath, n] = process.argv.slice(2);
const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: fs.readFileSync(caPath) });
const body = Buffer.alloc(1024, "x");
const post = () => new Promise((resolve, reject) => {
  const req = https.request({ host: "localhost", port: Number(port), path: "/v1/echo", method: "POST", agent,
    headers: { authorization: `Bearer ${process.env.BENCH_TOKEN}`, "content-length": body.length } },
    (res) => { res.resume(); res.on("end", resolve); });
  req.on("error", reject);
  req.end(body);
});
await new Promise((r) => setTimeout(r, 500));
const start = process.hrtime.bigint();
for (let i = 0; i < Number(n); i++) await post();
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
console.log((Number(n) / seconds).toFixed(1));
agent.destroy();
