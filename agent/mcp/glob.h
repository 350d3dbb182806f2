// Internal: case-insensitive shell-style glob matching ('*' any run, '?' one character).
#pragma once

#include <string_view>

namespace credtrace::mcp::detail {

bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace credtrace::mcp::detail
