// Internal: a strict JSON scanner that accepts a truncated prefix and reports the scalar members it saw.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace credtrace::mcp::detail {

enum class ScanStatus { complete, truncated, invalid };

struct PrefixScan {
  ScanStatus status = ScanStatus::invalid;
  // Complete scalar members of objects by dotted path ("jsonrpc", "params.clientInfo.name"); strings
  // are unescaped, other scalars kept as written. Containers are recorded with the value "{" or "[".
  std::map<std::string, std::string> members;
};

// Scans one JSON value at the start of text (leading whitespace allowed). truncated: valid so far but
// the text ends inside the value. Only members up to max_depth levels deep are recorded.
PrefixScan scan_json_prefix(std::string_view text, int max_depth = 3);

}  // namespace credtrace::mcp::detail
