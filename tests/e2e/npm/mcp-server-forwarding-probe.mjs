// Test MCP server over Streamable HTTP (the SDK's StreamableHTTPServerTransport on node:http) that passes its client's
// bearer token through: its tool "forward" calls the DOWNSTREAM URL with the Authorization header of the MCP request
// that called it (the anti-pattern credtrace reports as token_passthrough). Named mcp-server-* so the agent watches it.
// With TLS_CERT and TLS_KEY (PEM files) it serves HTTPS (node's OpenSSL: the agent reads requests through SSL_read).
// Usage: PORT=<port> DOWNSTREAM=<url> [TLS_CERT=<pem> TLS_KEY=<pem>] node mcp-server-forwarding-probe.mjs
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import { randomUUID } from "node:crypto";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";

const sessions = new Map();  // Mcp-Session-Id → { transport, auth }

function newSession() {
  const session = { auth: "" };
  const server = new McpServer({ name: "forwarding-probe", version: "1.0.0" });
  server.registerTool("forward", { description: "Calls the downstream API with the caller's token" }, async () => {
    const response = await fetch(process.env.DOWNSTREAM, { headers: { authorization: session.auth } });
    return { content: [{ type: "text", text: `downstream answered ${response.status}` }] };
  });
  session.transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    onsessioninitialized: (id) => sessions.set(id, session),
  });
  return server.connect(session.transport).then(() => session);
}

async function handle(req, res) {
  let body = "";
  for await (const chunk of req) body += chunk;
  const known = sessions.get(req.headers["mcp-session-id"]);
  const session = known ?? (await newSession());
  session.auth = req.headers.authorization ?? "";
  await session.transport.handleRequest(req, res, body ? JSON.parse(body) : undefined);
}

const server = process.env.TLS_CERT
  ? https.createServer({ cert: fs.readFileSync(process.env.TLS_CERT), key: fs.readFileSync(process.env.TLS_KEY) }, handle)
  : http.createServer(handle);
server.listen(Number(process.env.PORT), "127.0.0.1");
