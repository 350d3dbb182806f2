// Public API of the typed credential detectors: whole-value classification and scanning of free text.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

namespace credtrace::secrets {

// One typed credential found in a value or text. `type` points to static storage (the rule table).
struct Detection {
  std::string_view type;  // exported type name, e.g. "github_pat", "openai", "jwt"
  size_t offset;          // byte offset of the credential in the scanned input
  size_t length;          // byte length of the credential
  size_t prefix_len;      // length of its public, non-secret prefix (e.g. 4 for "ghp_")
};

// The whole value (trimmed of surrounding whitespace and quotes) is one recognised credential.
// `offset` is relative to the untrimmed value.
std::optional<Detection> classify_value(std::string_view value);

// Every typed credential inside arbitrary text (HTTP headers, JSON, config files), left to right,
// non-overlapping. A match must be delimited: the characters around it are not token characters.
std::vector<Detection> scan_text(std::string_view text);

// Length of the typed-rule prefix `value` starts with (longest known prefix), 0 when none.
size_t known_prefix_length(std::string_view value);

}  // namespace credtrace::secrets
