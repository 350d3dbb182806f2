// Internal: line-by-line reading for the line-based parsers (1-based numbers, CR stripped, header-only).
#pragma once

#include <string_view>

namespace credtrace::credfiles::detail {

class TextLines {
 public:
  explicit TextLines(std::string_view text) : text_(text) {}

  // The next line without its "\n" or "\r\n"; false at the end.
  bool next(std::string_view& line) {
    if (pos_ > text_.size() || (pos_ == text_.size() && (text_.empty() || text_.back() == '\n'))) return false;
    size_t end = text_.find('\n', pos_);
    if (end == std::string_view::npos) end = text_.size();
    line = text_.substr(pos_, end - pos_);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos_ = end + 1;
    ++number_;
    return true;
  }

  int number() const { return number_; }          // 1-based number of the line last returned
  size_t offset() const { return pos_; }          // where the next line starts
  std::string_view rest() const { return pos_ < text_.size() ? text_.substr(pos_) : std::string_view(); }
  void skip_to(size_t offset, int lines_skipped) {  // after a value that spanned lines
    pos_ = offset;
    number_ += lines_skipped;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  int number_ = 0;
};

inline bool is_blank_char(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

inline std::string_view trim_blank(std::string_view text) {
  while (!text.empty() && is_blank_char(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_blank_char(text.back())) text.remove_suffix(1);
  return text;
}

}  // namespace credtrace::credfiles::detail
