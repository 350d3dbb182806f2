// Internal: a strict, non-allocating JSON scanner (RFC 8259) that reports tokens to a handler, bounded in depth.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace credtrace::protocols::jsonrpc {

enum class JsonType { kObject, kArray, kString, kNumber, kBoolean, kNull };

// "object", "array", "string", "number", "boolean", "null".
std::string_view type_name(JsonType type);

// Receives the tokens of one JSON text in order. Views point into the scanned text (strings: between the quotes,
// escapes as written). Events are delivered as the scan goes: a handler whose text turns out invalid discards them.
class JsonHandler {
 public:
  virtual ~JsonHandler() = default;
  // An object or array starts at `offset` (its bracket).
  virtual void begin_container(JsonType type, size_t offset) = 0;
  // The innermost open container ends; `end` is one past its closing bracket.
  virtual void end_container(JsonType type, size_t end) = 0;
  // A member name of the innermost object; escaped: it holds a backslash escape (decode with unescape()).
  virtual void key(std::string_view raw, bool escaped) = 0;
  // A string, number, true/false or null; `offset` is its first byte in the text (a string's opening quote).
  virtual void scalar(JsonType type, std::string_view raw, bool escaped, size_t offset) = 0;
};

enum class ScanError {
  kNone,
  kSyntax,   // not one JSON value followed only by whitespace
  kTooDeep,  // containers nested deeper than max_depth
};

struct ScanResult {
  ScanError error = ScanError::kNone;
  bool invalid_utf8 = false;  // a string held bytes that are not UTF-8 (tolerated, not an error)
};

// Scans `text`: exactly one JSON value with optional surrounding whitespace. Stops at the first error; never throws;
// recursion is bounded by max_depth.
ScanResult scan_json(std::string_view text, JsonHandler& handler, int max_depth = 64);

// Appends the decoded form of a string's raw content (escapes resolved, \u surrogate pairs joined, lone surrogates as
// U+FFFD). `raw` must have been accepted by scan_json.
void unescape(std::string_view raw, std::string& out);

// Appends `text` with every invalid UTF-8 sequence replaced by U+FFFD.
void append_valid_utf8(std::string_view text, std::string& out);

// Appends `text` (decoded) as a JSON string with quotes, escaping '"', '\\' and control characters; invalid UTF-8
// becomes U+FFFD.
void append_json_string(std::string_view text, std::string& out);

}  // namespace credtrace::protocols::jsonrpc
