// Path helpers shared by the agent's modules (header-only).
#pragma once

#include <string>
#include <string_view>

namespace credtrace::common {

// The last component of a path ("/usr/bin/node" → "node"); the whole text when it has no '/'.
inline std::string file_name(std::string_view path) {
  auto slash = path.find_last_of('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

}  // namespace credtrace::common
