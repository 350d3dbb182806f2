// Local HTTP/2 (TLS, ALPN h2) test server for e2e tests: answers every request with JSON, prints its port, then one
// line per request ("METHOD PATH") on stdout. Usage: node h2_server.mjs CERT KEY
import http2 from "node:http2";
import fs from "node:fs";

const [certPath, keyPath] = process.argv.slice(2);
const server = http2.createSecureServer({ cert: fs.readFileSync(certPath), key: fs.readFileSync(keyPath) });
server.on("stream", (stream, headers) => {
  console.log(`${headers[":method"]} ${headers[":path"]}`);
  stream.respond({ ":status": 200, "content-type": "application/json" });
  stream.end('{"ok":true}');
});
server.listen(0, "127.0.0.1", () => console.log(`port ${server.address().port}`));
