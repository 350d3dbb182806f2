// Test MCP client making tool calls with the official SDK: launches a stdio server (StdioClientTransport), lists its
// tools, runs the spec's calls in order (or concurrently with "parallel": true), prints each outcome as JSON.
// Usage: node mcp_client_calls.mjs '<json spec>'
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const spec = JSON.parse(process.argv[2]);

async function callOne(client, call) {
  try {
    const result = await client.callTool({ name: call.name, arguments: call.arguments || {} });
    return { name: call.name, isError: Boolean(result.isError) };
  } catch (err) {
    return { name: call.name, error: err.code ?? String(err.message).slice(0, 80) };
  }
}

async function main() {
  const transport = new StdioClientTransport({
    command: spec.command,
    args: spec.args || [],
    env: spec.env || {},
    cwd: spec.cwd,
    stderr: "ignore",
  });
  const client = new Client({ name: spec.clientName || "credtrace-calls-client", version: "2.5.0" });
  await client.connect(transport);
  const tools = await client.listTools();
  const calls = spec.calls || [];
  const results = spec.parallel
    ? await Promise.all(calls.map((call) => callOne(client, call)))
    : await calls.reduce(async (done, call) => [...(await done), await callOne(client, call)], Promise.resolve([]));
  if (spec.holdMs) await new Promise((r) => setTimeout(r, spec.holdMs));
  await client.close();
  console.log(JSON.stringify({ tools: tools.tools.map((t) => t.name), results }));
}

main().catch((err) => {
  console.error(`mcp_client_calls failed: ${err.message}`);
  process.exit(1);
});
