// A stdio MCP server whose name reveals nothing (found only by protocol); at start it runs a helper
// child with an extra credential in its environment (a descendant the agent must attribute to it).
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { spawn } from "node:child_process";

const server = new McpServer({ name: "shadow-tool", version: "0.0.1" });
server.tool("ping", async () => ({ content: [{ type: "text", text: "pong" }] }));

if (process.env.HELPER_CHILD_SECONDS) {
  // The helper starts after the first message has been read, as a tool call would.
  setTimeout(() => {
    spawn("/bin/sh", ["-c", `sleep ${process.env.HELPER_CHILD_SECONDS}`], {
      stdio: "ignore",
      env: { ...process.env, CHILD_SERVICE_TOKEN: process.env.CHILD_SERVICE_TOKEN_VALUE || "" },
    });
  }, 300);
}

await server.connect(new StdioServerTransport());
