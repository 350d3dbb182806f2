// netrc credential parser: machine/default entries with login, password and account; macdef blocks skipped.
#include <algorithm>
#include <optional>
#include <string>

#include "credfiles/parsers.h"
#include "credfiles/value_rules.h"

namespace credtrace::credfiles {
namespace {

struct Token {
  std::string_view text;
  int line = 0;
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Whitespace-separated tokens (double-quoted tokens allowed), '#' comment lines skipped.
class NetrcTokens {
 public:
  explicit NetrcTokens(std::string_view text) : text_(text) {}

  std::optional<Token> next() {
    skip_space_and_comments();
    if (pos_ >= text_.size()) return std::nullopt;
    Token token;
    token.line = line_;
    if (text_[pos_] == '"') {
      size_t close = text_.find('"', pos_ + 1);
      if (close == std::string_view::npos) close = text_.size();
      token.text = text_.substr(pos_ + 1, close - pos_ - 1);
      count_lines(pos_, std::min(close + 1, text_.size()));
      pos_ = close + 1;
      return token;
    }
    size_t start = pos_;
    while (pos_ < text_.size() && !is_space(text_[pos_])) ++pos_;
    token.text = text_.substr(start, pos_ - start);
    return token;
  }

  // macdef NAME: the macro body runs to the next empty line.
  void skip_macro_body() {
    size_t end = text_.find("\n\n", pos_);
    size_t stop = end == std::string_view::npos ? text_.size() : end + 2;
    count_lines(pos_, stop);
    pos_ = stop;
  }

 private:
  void skip_space_and_comments() {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == '\n') {
        ++line_;
        at_line_start_ = true;
        ++pos_;
      } else if (is_space(c)) {
        ++pos_;
      } else if (c == '#' && at_line_start_) {
        size_t eol = text_.find('\n', pos_);
        pos_ = eol == std::string_view::npos ? text_.size() : eol;
      } else {
        at_line_start_ = false;
        return;
      }
    }
  }

  void count_lines(size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) line_ += (text_[i] == '\n');
  }

  std::string_view text_;
  size_t pos_ = 0;
  int line_ = 1;
  bool at_line_start_ = true;
};

}  // namespace

ParseResult parse_netrc(std::string_view text) {
  detail::FindingCollector collector;
  NetrcTokens tokens(text);
  std::string entry;  // "machine HOST" or "default"
  while (std::optional<Token> token = tokens.next()) {
    std::string_view keyword = token->text;
    if (keyword == "default") {
      entry = "default";
      continue;
    }
    bool takes_value = keyword == "machine" || keyword == "login" || keyword == "password" || keyword == "account" ||
                       keyword == "macdef" || keyword == "port";
    if (!takes_value) continue;  // unknown words are ignored, as ftp/curl do
    std::optional<Token> value = tokens.next();
    if (!value) {
      collector.add_error("line " + std::to_string(token->line) + ": '" + std::string(keyword) + "' without a value");
      break;
    }
    if (keyword == "machine") {
      entry = "machine " + std::string(value->text);
    } else if (keyword == "macdef") {
      tokens.skip_macro_body();
    } else if (keyword != "port") {
      std::string key = entry.empty() ? std::string(keyword) : entry + "." + std::string(keyword);
      collector.judge(key, keyword, value->text, value->line);
    }
  }
  return collector.take();
}

}  // namespace credtrace::credfiles
