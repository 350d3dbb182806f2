// Internal: builds the canonical shape (key names and JSON types, never values) of one JSON value from scan events.
#pragma once

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/jsonrpc/json_scanner.h"

namespace credtrace::protocols::jsonrpc {

// Fed the events of one value (containers, decoded keys, scalar types) in scan order; take() gives its shape:
// objects as {"key":shape,…} with keys sorted, arrays as [shape,…] of their distinct element shapes sorted, scalars
// as "string" / "number" / "boolean" / "null". Containers deeper than max_depth are "object" / "array"; past
// max_entries keys and element shapes, further ones are left out. Either sets truncated().
class ShapeBuilder {
 public:
  static constexpr size_t kMaxKey = 64;  // longer key names are cut (at a character boundary) and marked "…"

  ShapeBuilder(size_t max_depth, size_t max_entries) : max_depth_(max_depth), max_entries_(max_entries) {}

  void begin(JsonType type);
  void key(std::string_view decoded);
  void scalar(JsonType type);
  void end();

  bool done() const { return stack_.empty() && !result_.empty(); }
  bool truncated() const { return truncated_; }
  std::string take() { return std::move(result_); }

  // The key as a shape shows it: valid UTF-8, capped, "<redacted>" when it is or holds a typed credential.
  static std::string display_key(std::string_view decoded);

 private:
  struct Frame {
    JsonType type;
    bool collapsed;  // past max_depth: described by its type only
    std::map<std::string, std::string> members;
    std::set<std::string> elements;
    std::string key;
  };

  void add(std::string shape);
  static std::string serialize(const Frame& frame);

  size_t max_depth_;
  size_t max_entries_;
  size_t entries_ = 0;
  bool truncated_ = false;
  std::vector<Frame> stack_;
  std::string result_;
};

}  // namespace credtrace::protocols::jsonrpc
