// Canonical shapes of JSON values: sorted keys, distinct element shapes, depth and size bounds, redacted keys.
#include "protocols/jsonrpc/shape_builder.h"

#include "secrets/detectors.h"

namespace credtrace::protocols::jsonrpc {
namespace {

std::string quoted_type(JsonType type) {
  std::string out = "\"";
  out += type_name(type);
  out += '"';
  return out;
}

// Cuts `text` (valid UTF-8) to at most `limit` bytes without splitting a character.
void cut_utf8(std::string& text, size_t limit) {
  if (text.size() <= limit) return;
  size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  text.resize(end);
  text += "\xE2\x80\xA6";  // …
}

}  // namespace

std::string ShapeBuilder::display_key(std::string_view decoded) {
  if (secrets::classify_value(decoded) || !secrets::scan_text(decoded).empty()) return "<redacted>";
  std::string key;
  append_valid_utf8(decoded.substr(0, kMaxKey * 2), key);
  cut_utf8(key, kMaxKey);
  return key;
}

void ShapeBuilder::begin(JsonType type) {
  const bool collapsed = stack_.size() >= max_depth_ || (!stack_.empty() && stack_.back().collapsed);
  if (collapsed && !stack_.empty() && !stack_.back().collapsed) truncated_ = true;
  stack_.push_back(Frame{type, collapsed, {}, {}, {}});
}

void ShapeBuilder::key(std::string_view decoded) {
  if (stack_.empty() || stack_.back().collapsed) return;
  stack_.back().key = display_key(decoded);
}

void ShapeBuilder::scalar(JsonType type) {
  if (!stack_.empty() && stack_.back().collapsed) return;
  add(quoted_type(type));
}

void ShapeBuilder::end() {
  if (stack_.empty()) return;
  Frame frame = std::move(stack_.back());
  stack_.pop_back();
  if (!stack_.empty() && stack_.back().collapsed) return;
  add(frame.collapsed ? quoted_type(frame.type) : serialize(frame));
}

void ShapeBuilder::add(std::string shape) {
  if (stack_.empty()) {
    result_ = std::move(shape);
    return;
  }
  Frame& parent = stack_.back();
  const bool known = parent.type == JsonType::kObject ? parent.members.contains(parent.key)
                                                      : parent.elements.contains(shape);
  if (!known && entries_ >= max_entries_) {
    truncated_ = true;
    return;
  }
  if (!known) ++entries_;
  if (parent.type == JsonType::kObject) {
    parent.members[parent.key] = std::move(shape);
  } else {
    parent.elements.insert(std::move(shape));
  }
}

std::string ShapeBuilder::serialize(const Frame& frame) {
  std::string out(1, frame.type == JsonType::kObject ? '{' : '[');
  bool first = true;
  if (frame.type == JsonType::kObject) {
    for (const auto& [key, shape] : frame.members) {
      if (!first) out += ',';
      first = false;
      append_json_string(key, out);
      out += ':';
      out += shape;
    }
  } else {
    for (const std::string& shape : frame.elements) {
      if (!first) out += ',';
      first = false;
      out += shape;
    }
  }
  out += frame.type == JsonType::kObject ? '}' : ']';
  return out;
}

}  // namespace credtrace::protocols::jsonrpc
