// JSON leaves: a SAX pass (nlohmann) over JSONC-stripped text that records each scalar's path and line.
#include <cstddef>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "credfiles/structured_leaves.h"
#include "credfiles/value_rules.h"
#include "mcp/jsonc.h"

namespace credtrace::credfiles::detail {
namespace {

using Json = nlohmann::json;

// How far the parser has read, and the line there (counted incrementally as reading advances).
class ReadPosition {
 public:
  explicit ReadPosition(const char* begin) : begin_(begin), furthest_(begin), counted_(begin) {}
  void advance_to(const char* p) { furthest_ = p; }
  // 1-based line of the last character read; `lookahead` when the lexer read one character past the token.
  int line(bool lookahead) {
    for (; counted_ < furthest_; ++counted_) line_ += (*counted_ == '\n');
    bool back_one = lookahead && furthest_ > begin_ && furthest_[-1] == '\n';
    return back_one ? line_ - 1 : line_;
  }

 private:
  const char* begin_;
  const char* furthest_;
  const char* counted_;
  int line_ = 1;
};

// A char iterator that reports each step to a ReadPosition, so SAX callbacks know where the lexer is.
class TrackingIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  TrackingIterator(const char* p, ReadPosition* position) : p_(p), position_(position) {}
  reference operator*() const { return *p_; }
  TrackingIterator& operator++() {
    ++p_;
    position_->advance_to(p_);
    return *this;
  }
  TrackingIterator operator++(int) {
    TrackingIterator before = *this;
    ++*this;
    return before;
  }
  bool operator==(const TrackingIterator& other) const { return p_ == other.p_; }
  bool operator!=(const TrackingIterator& other) const { return p_ != other.p_; }

 private:
  const char* p_;
  ReadPosition* position_;
};

struct Frame {
  bool is_array = false;
  size_t next_index = 0;
  bool pushed_component = false;
  std::string pending_key;
  std::string name;  // the key this container sits under (leaf name for array elements)
};

class LeafCollector : public nlohmann::json_sax<Json> {
 public:
  LeafCollector(std::string_view text, ReadPosition* position) : text_(text), position_(position) {}

  bool null() override { return skip_slot(); }
  bool boolean(bool) override { return skip_slot(); }
  bool number_integer(number_integer_t v) override { return add_leaf(std::to_string(v), true); }
  bool number_unsigned(number_unsigned_t v) override { return add_leaf(std::to_string(v), true); }
  bool number_float(number_float_t, const string_t& text) override { return add_leaf(text, true); }
  bool string(string_t& value) override {
    bool ok = add_leaf(value, false);
    wipe(value);
    return ok;
  }
  bool binary(binary_t&) override { return skip_slot(); }
  bool key(string_t& key) override {
    if (!frames_.empty()) frames_.back().pending_key = key;
    return true;
  }
  bool start_object(std::size_t) override { return open(false); }
  bool start_array(std::size_t) override { return open(true); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) override {
    size_t byte = position > 0 ? position - 1 : 0;
    result_.error = "json parse error at line " + std::to_string(line_of_byte(byte)) + " (code " +
                    std::to_string(e.id) + ")";
    return false;
  }

  Leaves take() { return std::move(result_); }

 private:
  // The component for the value now being read: "[i]" in an array, the pending key in an object.
  std::string slot_component(bool* is_index) {
    *is_index = false;
    if (frames_.empty()) return "";
    Frame& top = frames_.back();
    if (top.is_array) {
      *is_index = true;
      return "[" + std::to_string(top.next_index++) + "]";
    }
    return top.pending_key;
  }

  std::string slot_name() const {
    if (frames_.empty()) return "";
    return frames_.back().is_array ? frames_.back().name : frames_.back().pending_key;
  }

  bool skip_slot() {
    bool is_index = false;
    slot_component(&is_index);
    return true;
  }

  bool open(bool is_array) {
    if (frames_.size() >= kMaxLeafDepth) return limit("json nesting deeper than " + std::to_string(kMaxLeafDepth));
    Frame frame;
    frame.is_array = is_array;
    frame.name = slot_name();
    if (!frames_.empty()) {
      bool is_index = false;
      std::string component = slot_component(&is_index);
      path_lengths_.push_back(path_.size());
      append_path_component(path_, component, is_index);
      frame.pushed_component = true;
    }
    frames_.push_back(std::move(frame));
    return true;
  }

  bool close() {
    if (frames_.empty()) return true;
    if (frames_.back().pushed_component) {
      path_.resize(path_lengths_.back());
      path_lengths_.pop_back();
    }
    frames_.pop_back();
    return true;
  }

  bool add_leaf(std::string_view value, bool lookahead) {
    if (++nodes_ > kMaxLeafNodes) return limit("more than " + std::to_string(kMaxLeafNodes) + " json values");
    Leaf leaf;
    leaf.name = slot_name();
    bool is_index = false;
    std::string component = slot_component(&is_index);
    leaf.path = path_;
    append_path_component(leaf.path, component, is_index);
    leaf.value = secrets::SecretBytes(value);
    leaf.line = position_->line(lookahead);
    result_.leaves.push_back(std::move(leaf));
    return true;
  }

  bool limit(std::string message) {
    result_.error = std::move(message);
    return false;
  }

  int line_of_byte(size_t byte) const {
    int line = 1;
    for (size_t i = 0; i < byte && i < text_.size(); ++i) line += (text_[i] == '\n');
    return line;
  }

  std::string_view text_;
  ReadPosition* position_;
  std::vector<Frame> frames_;
  std::string path_;
  std::vector<size_t> path_lengths_;
  size_t nodes_ = 0;
  Leaves result_;
};

}  // namespace

void append_path_component(std::string& path, std::string_view component, bool is_index) {
  if (!is_index && !path.empty()) path.push_back('.');
  path.append(component);
}

Leaves json_leaves(std::string_view text) {
  std::string stripped = mcp::detail::strip_jsonc(text);
  ReadPosition position(stripped.data());
  LeafCollector collector(stripped, &position);
  TrackingIterator first(stripped.data(), &position);
  TrackingIterator last(stripped.data() + stripped.size(), &position);
  try {
    Json::sax_parse(first, last, &collector, nlohmann::json::input_format_t::json, true, false);
  } catch (const std::exception&) {
    Leaves failed = collector.take();
    if (failed.error.empty()) failed.error = "json parse error";
    wipe(stripped);
    return failed;
  }
  wipe(stripped);
  return collector.take();
}

}  // namespace credtrace::credfiles::detail
