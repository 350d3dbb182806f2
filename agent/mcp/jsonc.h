// JSONC support: removes // and /* */ comments and trailing commas so strict JSON parsers accept VS Code/Zed files.
#pragma once

#include <string>
#include <string_view>

namespace credtrace::mcp::detail {

// Comments and trailing commas become spaces (newlines kept), so byte offsets stay the same.
std::string strip_jsonc(std::string_view text);

}  // namespace credtrace::mcp::detail
