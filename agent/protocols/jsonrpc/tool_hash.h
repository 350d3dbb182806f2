// Public API: hashes of MCP tool definitions from a tools/list answer, to notice a tool changing between sessions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace credtrace::protocols {

struct ToolDefinitionHash {
  std::string name;    // the tool's name (valid UTF-8, at most JsonRpcMessage::kMaxField bytes)
  std::string sha256;  // lowercase hex SHA-256 of the canonical definition
};

// For each element of `tools_json` (the result.tools array of a tools/list answer) that is an object with a string
// "name": SHA-256 of the canonical JSON of {"name", "description", "inputSchema"} (members absent left out, keys
// sorted at every level, no whitespace), so the same definition hashes the same whatever the key order or spacing.
// Empty when the text is not a JSON array (or is nested deeper than 64). Never throws on any input.
std::vector<ToolDefinitionHash> hash_tool_definitions(std::string_view tools_json);

}  // namespace credtrace::protocols
