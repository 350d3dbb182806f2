// Test MCP client: launches one stdio server the way MCP clients do (SDK StdioClientTransport), lists its tools,
// optionally spawns a non-MCP child that reads stdin, then closes. Usage: node mcp_client.mjs '<json spec>'
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { spawn } from "node:child_process";

const spec = JSON.parse(process.argv[2]);

async function runNonMcpChild() {
  // A helper tool an agent might run: reads plain text on stdin, not JSON-RPC.
  await new Promise((resolve) => {
    const child = spawn("/bin/cat", [], { stdio: ["pipe", "ignore", "ignore"] });
    child.stdin.end("hello from a shell tool\n");
    child.on("exit", resolve);
  });
}

async function main() {
  if (spec.nonMcpChild) await runNonMcpChild();
  const transport = new StdioClientTransport({
    command: spec.command,
    args: spec.args || [],
    env: spec.env || {},
    cwd: spec.cwd,
    stderr: "ignore",
  });
  const client = new Client({ name: spec.clientName || "credtrace-e2e-client", version: "1.0.0" });
  await client.connect(transport);
  const tools = await client.listTools();
  if (spec.callTool) {
    try {
      await client.callTool({ name: spec.callTool.name, arguments: spec.callTool.arguments || {} });
    } catch (err) {
      console.error(`tool call failed (expected against a mock API): ${err.message}`);
    }
  }
  if (spec.holdMs) await new Promise((r) => setTimeout(r, spec.holdMs));
  await client.close();
  console.log(JSON.stringify({ tools: tools.tools.length }));
}

main().catch((err) => {
  console.error(`mcp_client failed: ${err.message}`);
  process.exit(1);
});
