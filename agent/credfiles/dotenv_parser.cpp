// dotenv credential parser: KEY=value lines, "export", quoted (multi-line) values, comments.
#include <algorithm>
#include <string>

#include "credfiles/parsers.h"
#include "credfiles/text_lines.h"
#include "credfiles/value_rules.h"

namespace credtrace::credfiles {
namespace {

using detail::trim_blank;

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == '-';
}

bool is_name(std::string_view name) {
  return !name.empty() && !(name.front() >= '0' && name.front() <= '9') &&
         std::all_of(name.begin(), name.end(), is_name_char);
}

// Double-quoted dotenv escapes: \n, \r, \t, \", \\, \$ (others kept as written).
std::string unescape_double_quoted(std::string_view body) {
  std::string out;
  out.reserve(body.size());
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '\\' || i + 1 == body.size()) {
      out.push_back(body[i]);
      continue;
    }
    char next = body[++i];
    switch (next) {
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case '"': case '\\': case '$': out.push_back(next); break;
      default: out.push_back('\\'); out.push_back(next);
    }
  }
  return out;
}

// Index of the closing quote at or after `from`, skipping backslash escapes inside double quotes.
size_t closing_quote(std::string_view text, size_t from, char quote) {
  for (size_t i = from; i < text.size(); ++i) {
    if (quote == '"' && text[i] == '\\') {
      ++i;
    } else if (text[i] == quote) {
      return i;
    }
  }
  return std::string_view::npos;
}

// An unquoted value ends at " #" (an inline comment).
std::string_view unquoted_value(std::string_view rest) {
  for (size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == '#' && (i == 0 || rest[i - 1] == ' ' || rest[i - 1] == '\t')) return trim_blank(rest.substr(0, i));
  }
  return trim_blank(rest);
}

class DotenvReader {
 public:
  explicit DotenvReader(std::string_view text) : text_(text) {}

  ParseResult read() {
    while (pos_ < text_.size()) read_line();
    return collector_.take();
  }

 private:
  void read_line() {
    size_t eol = text_.find('\n', pos_);
    if (eol == std::string_view::npos) eol = text_.size();
    std::string_view line = trim_blank(text_.substr(pos_, eol - pos_));
    int number = line_;
    advance_past(eol);
    if (line.empty() || line.front() == '#') return;
    if (line.starts_with("export ") || line.starts_with("export\t")) line = trim_blank(line.substr(7));
    size_t equals = line.find('=');
    if (equals == std::string_view::npos) {
      if (!is_name(line)) error(number, "not KEY=VALUE");
      return;  // a bare NAME (docker --env-file pass-through) holds no value
    }
    std::string_view name = trim_blank(line.substr(0, equals));
    if (!is_name(name)) return error(number, "invalid variable name");
    std::string_view rest = line.substr(equals + 1);
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
    if (!rest.empty() && (rest.front() == '"' || rest.front() == '\'' || rest.front() == '`')) {
      size_t quote_offset = static_cast<size_t>(rest.data() - text_.data());
      return quoted_value(name, quote_offset, number);
    }
    collector_.judge(name, name, unquoted_value(rest), number);
  }

  // A quoted value may span lines; parsing continues after the line holding the closing quote.
  void quoted_value(std::string_view name, size_t quote_offset, int number) {
    char quote = text_[quote_offset];
    size_t close = closing_quote(text_, quote_offset + 1, quote);
    if (close == std::string_view::npos) return error(number, "unterminated quoted value");
    std::string_view body = text_.substr(quote_offset + 1, close - quote_offset - 1);
    if (quote == '"') {
      std::string value = unescape_double_quoted(body);
      collector_.judge(name, name, value, number);
      detail::wipe(value);
    } else {
      collector_.judge(name, name, body, number);
    }
    if (close >= pos_) {  // the value ran past its first line
      size_t eol = text_.find('\n', close);
      advance_past(eol == std::string_view::npos ? text_.size() : eol);
    }
  }

  void advance_past(size_t eol) {
    line_ += static_cast<int>(std::count(text_.begin() + static_cast<std::ptrdiff_t>(pos_),
                                         text_.begin() + static_cast<std::ptrdiff_t>(std::min(eol + 1, text_.size())),
                                         '\n'));
    pos_ = eol + 1;
  }

  void error(int number, const char* what) { collector_.add_error("line " + std::to_string(number) + ": " + what); }

  std::string_view text_;
  size_t pos_ = 0;
  int line_ = 1;
  detail::FindingCollector collector_;
};

}  // namespace

ParseResult parse_dotenv(std::string_view text) { return DotenvReader(text).read(); }

}  // namespace credtrace::credfiles
