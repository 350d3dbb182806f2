// Public API for recognising MCP server and MCP client processes from argv and exe path.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace credtrace::mcp {

// Globs for MCP server names: "@modelcontextprotocol/*", "mcp-server-*", "*-mcp-server", "*-mcp",
// "mcp_server_*", "@*/mcp-server-*", "@*/*-mcp-server", "@*/*-mcp", and "mcp/*" (Docker's MCP catalog).
std::vector<std::string> default_server_patterns();

// Recognises MCP servers through launchers (npx, npm exec, pnpm dlx, bunx, yarn dlx, uvx, uv tool run,
// uv run, pipx run, node, python, sh -c, env, docker/podman run) and shebang-unwrapped argv.
class LaunchMatcher {
 public:
  explicit LaunchMatcher(std::vector<std::string> globs);  // case-insensitive '*' and '?'

  // The server identity the argv reveals (e.g. "@modelcontextprotocol/server-everything",
  // "mcp-server-fetch"): the first candidate name that matches a glob. nullopt when none does.
  std::optional<std::string> match(const std::vector<std::string>& argv, std::string_view exe_path) const;

 private:
  std::vector<std::string> globs_;
};

// MCP client process names: "claude", "claude-desktop", "claude-code", "cursor", "code", "code-insiders",
// "codium", "windsurf", "zed", "zed-editor", "gemini", "gemini-cli", "cline", "goose", "continue".
std::vector<std::string> default_client_patterns();

// Matches the exe basename, argv[0]'s basename and, when argv[0] is an interpreter (node, python, …),
// the script's name and its node_modules package (full and last segment).
class ClientMatcher {
 public:
  explicit ClientMatcher(std::vector<std::string> globs);
  bool matches(const std::vector<std::string>& argv, std::string_view exe_path) const;

 private:
  std::vector<std::string> globs_;
};

}  // namespace credtrace::mcp
