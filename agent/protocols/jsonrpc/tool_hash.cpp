// Canonical hashing of tool definitions (name, description, inputSchema) with nlohmann_json (sorted object keys).
#include "protocols/jsonrpc/tool_hash.h"

#include <nlohmann/json.hpp>

#include "common/digest.h"
#include "protocols/jsonrpc/json_scanner.h"
#include "protocols/jsonrpc/message.h"

namespace credtrace::protocols {
namespace {

// Validates grammar and depth before nlohmann parses (its dump() recurses).
class NullHandler final : public jsonrpc::JsonHandler {
 public:
  void begin_container(jsonrpc::JsonType, size_t) override {}
  void end_container(jsonrpc::JsonType, size_t) override {}
  void key(std::string_view, bool) override {}
  void scalar(jsonrpc::JsonType, std::string_view, bool, size_t) override {}
};

std::string display_name(const std::string& name) {
  std::string out;
  jsonrpc::append_valid_utf8(std::string_view(name).substr(0, JsonRpcMessage::kMaxField), out);
  return out;
}

}  // namespace

std::vector<ToolDefinitionHash> hash_tool_definitions(std::string_view tools_json) {
  std::vector<ToolDefinitionHash> out;
  NullHandler validate;
  if (jsonrpc::scan_json(tools_json, validate).error != jsonrpc::ScanError::kNone) return out;
  std::string text;  // nlohmann rejects invalid UTF-8: replaced (only strings can hold it once scanned)
  jsonrpc::append_valid_utf8(tools_json, text);
  const nlohmann::json tools = nlohmann::json::parse(text, nullptr, false);
  if (tools.is_discarded() || !tools.is_array()) return out;
  for (const nlohmann::json& tool : tools) {
    if (!tool.is_object() || !tool.contains("name") || !tool["name"].is_string()) continue;
    nlohmann::json definition = nlohmann::json::object();
    for (const char* member : {"name", "description", "inputSchema"}) {
      if (tool.contains(member)) definition[member] = tool[member];
    }
    const std::string canonical = definition.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out.push_back({display_name(tool["name"].get<std::string>()), common::sha256_hex(canonical)});
  }
  return out;
}

}  // namespace credtrace::protocols
