// Internal: turns a parsed client config document (JSON, or YAML converted to JSON) into ServerEntry values.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mcp/client_config.h"

namespace credtrace::mcp::detail {

// Where entries come from and the problems met while reading them.
struct ShapeContext {
  Client client = Client::unknown;
  std::string config_path;
  std::vector<std::string> errors;
};

// Collects the servers of every shape the client uses (mcpServers, servers, context_servers, projects.*).
void collect_servers(const nlohmann::ordered_json& root, ShapeContext& ctx, std::vector<ServerEntry>& out);

// YAML text → JSON document (scalars stay strings). Sets error (no raw content) and returns null on failure.
nlohmann::ordered_json yaml_to_json(std::string_view text, std::string& error);

}  // namespace credtrace::mcp::detail
