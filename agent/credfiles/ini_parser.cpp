// INI credential parser: AWS credentials/config, .pypirc, gitconfig-like files (sections, key = value).
#include <string>

#include "credfiles/parsers.h"
#include "credfiles/text_lines.h"
#include "credfiles/value_rules.h"

namespace credtrace::credfiles {
namespace {

using detail::trim_blank;

bool is_indented(std::string_view line) { return !line.empty() && (line.front() == ' ' || line.front() == '\t'); }

bool is_bare_word(std::string_view text) {
  for (char c : text) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              c == '.';
    if (!ok) return false;
  }
  return !text.empty();
}

std::string_view unquote(std::string_view value) {
  if (value.size() >= 2 && ((value.front() == '"' && value.back() == '"') ||
                            (value.front() == '\'' && value.back() == '\''))) {
    return value.substr(1, value.size() - 2);
  }
  return value;
}

// "[default]" → "default"; "[profile dev]" → "profile dev"; gitconfig "[http \"https://x\"]" → "http.https://x".
std::string section_name(std::string_view inner) {
  inner = trim_blank(inner);
  size_t quote = inner.find('"');
  if (quote == std::string_view::npos) return std::string(inner);
  std::string_view base = trim_blank(inner.substr(0, quote));
  std::string_view sub = inner.substr(quote + 1);
  if (!sub.empty() && sub.back() == '"') sub.remove_suffix(1);
  return std::string(base) + "." + std::string(sub);
}

std::string joined(const std::string& section, std::string_view key) {
  return section.empty() ? std::string(key) : section + "." + std::string(key);
}

class IniReader {
 public:
  void line(std::string_view raw, int number) {
    std::string_view text = trim_blank(raw);
    if (text.empty() || text.front() == '#' || text.front() == ';') return;
    if (text.front() == '[') return section_line(text, number);
    size_t separator = text.find_first_of("=:");
    if (separator == std::string_view::npos) return bare_line(text, raw, number);
    std::string_view key = trim_blank(text.substr(0, separator));
    std::string_view value = unquote(trim_blank(text.substr(separator + 1)));
    if (key.empty()) return collector_.add_error("line " + std::to_string(number) + ": key = value without a key");
    key_value(key, value, is_indented(raw), number);
  }

  ParseResult take() { return collector_.take(); }

 private:
  void section_line(std::string_view text, int number) {
    parent_key_.clear();
    if (text.back() != ']') {
      collector_.add_error("line " + std::to_string(number) + ": unterminated section header");
      return;
    }
    section_ = section_name(text.substr(1, text.size() - 2));
  }

  // A bare word is a gitconfig boolean ("[core] bare"); an indented line continues the previous value.
  void bare_line(std::string_view text, std::string_view raw, int number) {
    if (is_indented(raw) || is_bare_word(text)) return;
    collector_.add_error("line " + std::to_string(number) + ": not a section or key = value");
  }

  // AWS config nests "s3 =" followed by indented "key = value" lines under that key.
  void key_value(std::string_view key, std::string_view value, bool indented, int number) {
    if (indented && !parent_key_.empty()) {
      collector_.judge(joined(section_, parent_key_ + "." + std::string(key)), key, value, number);
      return;
    }
    parent_key_ = value.empty() ? std::string(key) : std::string();
    if (!value.empty()) collector_.judge(joined(section_, key), key, value, number);
  }

  detail::FindingCollector collector_;
  std::string section_;
  std::string parent_key_;
};

}  // namespace

ParseResult parse_ini(std::string_view text) {
  IniReader reader;
  detail::TextLines lines(text);
  std::string_view line;
  while (lines.next(line)) reader.line(line, lines.number());
  return reader.take();
}

}  // namespace credtrace::credfiles
