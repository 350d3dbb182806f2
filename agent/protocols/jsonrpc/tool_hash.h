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
// sorted at every level, strings re-encoded, numbers as written, no whitespace), so the same definition hashes the
// same whatever the key order, spacing or string escapes. Empty when the text is not a JSON array (or is nested
// deeper than 64). Every copy made is wiped (a schema's defaults or examples could hold a value). Never throws.
std::vector<ToolDefinitionHash> hash_tool_definitions(std::string_view tools_json);

}  // namespace credtrace::protocols
