// Test MCP client over Streamable HTTP (the SDK's StreamableHTTPClientTransport) or, with spec.transport "sse", the
// older HTTP+SSE transport (SSEClientTransport): initialize, tools/list, the tool calls of the spec, optionally the
// session's DELETE, then close. Named like a server (mcp-server-*) so the agent watches
// it: a watched process that calls MCP over HTTP. Usage: node mcp-server-http-client.mjs '<json spec>'
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const spec = JSON.parse(process.argv[2]);

async function main() {
  const options = { requestInit: { headers: spec.headers || {} } };
  const transport =
    spec.transport === "sse"
      ? new SSEClientTransport(new URL(spec.url), options)
      : new StreamableHTTPClientTransport(new URL(spec.url), options);
  const client = new Client({ name: "credtrace-e2e-http-client", version: "1.0.0" });
  await client.connect(transport);
  const tools = await client.listTools();
  const results = [];
  for (const call of spec.calls || []) {
    try {
      const result = await client.callTool({ name: call.name, arguments: call.arguments || {} });
      results.push({ name: call.name, isError: Boolean(result.isError) });
    } catch (err) {
      results.push({ name: call.name, error: err.code ?? "error" });
    }
  }
  // HTTP+SSE: the session is the sessionId of the endpoint the server named.
  const sessionId = transport.sessionId ?? transport._endpoint?.searchParams.get("sessionId");
  if (spec.holdMs) await new Promise((r) => setTimeout(r, spec.holdMs));
  if (spec.terminate) await transport.terminateSession();
  await client.close();
  console.log(JSON.stringify({ tools: tools.tools.length, sessionId, results }));
}

main().catch((err) => {
  console.error(`mcp-server-http-client failed: ${err.message}`);
  process.exit(1);
});
