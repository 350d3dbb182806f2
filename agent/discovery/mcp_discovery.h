// MCP server discovery: the config index (client configs on the host) and the verdict for one exec'd process.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "config/agent_config.h"
#include "mcp/client_config.h"
#include "mcp/launch_patterns.h"

namespace credtrace::discovery {

struct McpIdentity {
  std::string server_name;
  std::string client;
  std::string config_path;
  std::string transport = "stdio";
  std::string discovered_by;  // config, pattern, protocol
  std::string package;
  std::string client_info;
};

// Every MCP server entry of every client config found on the host (user homes, configured paths, clients' projects).
class ConfigIndex {
 public:
  explicit ConfigIndex(const config::McpConfig& config);
  void load_initial();
  // Parses the project-level configs of a directory (an MCP client's working directory). Returns entries added.
  size_t add_project_dir(const std::string& dir);
  const std::vector<mcp::ServerEntry>& entries() const { return entries_; }
  size_t files_loaded() const { return files_.size(); }
  uint64_t parse_errors() const { return parse_errors_; }

 private:
  size_t load_file(const std::string& path);
  size_t load_path(const std::string& path);

  config::McpConfig config_;
  std::vector<mcp::ServerEntry> entries_;
  std::set<std::string> files_;
  std::set<std::string> project_dirs_;
  uint64_t parse_errors_ = 0;
};

enum class Verdict { none, client, server };

struct Classification {
  Verdict verdict = Verdict::none;
  McpIdentity identity;
};

class Discovery {
 public:
  Discovery(const config::McpConfig& config, const ConfigIndex& index);
  // A process by its launch: an entry of a client config (a), a server-name pattern (b), or an MCP client.
  Classification classify(const std::vector<std::string>& argv, const std::string& exe,
                          const std::vector<std::string>& env_names) const;
  // A reload: the server and client patterns of config from now on.
  void set_patterns(const config::McpConfig& config);

 private:
  const ConfigIndex& index_;
  mcp::LaunchMatcher servers_;
  mcp::ClientMatcher clients_;
};

}  // namespace credtrace::discovery
