// Public API for MCP client config files: client detection, parsing of every client's shape, known locations.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace credtrace::mcp {

enum class Client { claude_desktop, claude_code, cursor, vscode, windsurf, cline, gemini_cli, zed, continue_dev, unknown };

// Stable lower-case name: "claude_desktop", "claude_code", "cursor", "vscode", "windsurf", "cline",
// "gemini_cli", "zed", "continue", "unknown".
std::string_view client_name(Client client);

// One MCP server definition found in a client config file. Values are kept verbatim.
struct ServerEntry {
  Client client = Client::unknown;
  std::string config_path;
  std::string name;
  std::string field_path;  // "mcpServers.github", "projects./home/u/p.mcpServers.github", "servers.x", "context_servers.x", "mcpServers[2]"
  std::string transport;   // "stdio", "http", "sse" (declared or inferred); empty when nothing says
  std::string command;
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string cwd;
  bool disabled = false;
};

// Servers found; error is non-empty when (part of) the input was malformed. Never throws.
struct ConfigParseResult {
  std::vector<ServerEntry> servers;
  std::string error;
};

// The client that owns a config file, judged from its path alone (also Claude Code's managed-mcp.json).
Client detect_client(std::string_view path);

// Parses content in the shape the client uses: YAML when the path ends in .yaml/.yml (Continue),
// otherwise JSON with JSONC comments and trailing commas allowed. Errors never quote the content.
ConfigParseResult parse_client_config(std::string_view path, std::string_view content, Client client);

// Reads the file (at most max_bytes, otherwise an error) and parses it as detect_client(path).
ConfigParseResult parse_client_config_file(const std::string& path, size_t max_bytes = 4 << 20);

struct ConfigLocation {
  std::string path;
  Client client = Client::unknown;
};

// Every known per-user config path under home_dir (whether it exists or not), plus the existing
// files of per-user config directories (~/.continue/mcpServers/, VS Code profiles).
std::vector<ConfigLocation> user_config_locations(const std::string& home_dir);

// Every known project-scoped config path under project_dir, plus existing .continue/mcpServers/ files.
std::vector<ConfigLocation> project_config_locations(const std::string& project_dir);

// Existing home directories of the accounts in passwd_path (any shell), plus /root; no duplicates, never "/".
std::vector<std::string> home_directories(const std::string& passwd_path = "/etc/passwd");

}  // namespace credtrace::mcp
