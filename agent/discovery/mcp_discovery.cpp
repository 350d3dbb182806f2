// MCP server discovery: loads client configs into an index and classifies exec'd processes by config, pattern or client.
#include "discovery/mcp_discovery.h"

#include <sys/stat.h>

#include "mcp/entry_match.h"

namespace credtrace::discovery {
namespace {

bool is_directory(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool is_regular_file(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

McpIdentity identity_from_entry(const mcp::ServerEntry& entry) {
  McpIdentity id;
  id.server_name = entry.name;
  id.client = std::string(mcp::client_name(entry.client));
  id.config_path = entry.config_path;
  id.transport = entry.transport.empty() ? "stdio" : entry.transport;
  id.discovered_by = "config";
  id.package = entry.command;
  return id;
}

}  // namespace

ConfigIndex::ConfigIndex(const config::McpConfig& config) : config_(config) {}

size_t ConfigIndex::load_file(const std::string& path) {
  if (!is_regular_file(path) || !files_.insert(path).second) return 0;
  mcp::ConfigParseResult parsed = mcp::parse_client_config_file(path);
  if (!parsed.error.empty()) ++parse_errors_;
  for (auto& entry : parsed.servers) entries_.push_back(std::move(entry));
  return parsed.servers.size();
}

size_t ConfigIndex::load_path(const std::string& path) {
  if (is_directory(path)) return add_project_dir(path);
  return load_file(path);
}

void ConfigIndex::load_initial() {
  if (config_.scan_user_homes) {
    for (const auto& home : mcp::home_directories(config_.passwd_file)) {
      for (const auto& location : mcp::user_config_locations(home)) load_file(location.path);
    }
  }
  for (const auto& path : config_.config_paths) load_path(path);
}

size_t ConfigIndex::add_project_dir(const std::string& dir) {
  if (dir.empty() || !project_dirs_.insert(dir).second) return 0;
  size_t added = 0;
  for (const auto& location : mcp::project_config_locations(dir)) added += load_file(location.path);
  return added;
}

Discovery::Discovery(const config::McpConfig& config, const ConfigIndex& index)
    : index_(index), servers_(config.server_patterns), clients_(config.client_patterns) {}

void Discovery::set_patterns(const config::McpConfig& config) {
  servers_ = mcp::LaunchMatcher(config.server_patterns);
  clients_ = mcp::ClientMatcher(config.client_patterns);
}

Classification Discovery::classify(const std::vector<std::string>& argv, const std::string& exe,
                                   const std::vector<std::string>& env_names) const {
  if (const mcp::ServerEntry* entry = mcp::match_entry(index_.entries(), argv, env_names)) {
    Classification c{Verdict::server, identity_from_entry(*entry)};
    if (auto package = servers_.match(argv, exe)) c.identity.package = *package;
    return c;
  }
  if (auto package = servers_.match(argv, exe)) {
    Classification c{Verdict::server, {}};
    c.identity.server_name = *package;
    c.identity.package = *package;
    c.identity.discovered_by = "pattern";
    return c;
  }
  if (clients_.matches(argv, exe)) return {Verdict::client, {}};
  return {};
}

}  // namespace credtrace::discovery
