// Strict JSON prefix scanner: validates grammar up to the cut and collects shallow scalar members.
#include "mcp/json_prefix_scan.h"

#include <cctype>

namespace credtrace::mcp::detail {
namespace {

constexpr int kNestingLimit = 64;

// Recursive-descent scanner; every step returns the status reached so far.
class Scanner {
 public:
  Scanner(std::string_view text, int max_depth, PrefixScan& out) : text_(text), max_depth_(max_depth), out_(out) {}

  ScanStatus run() {
    skip_space();
    if (at_end()) return ScanStatus::truncated;
    if (text_[pos_] != '{' && text_[pos_] != '[') return ScanStatus::invalid;
    return value("", 0);
  }

 private:
  bool at_end() const { return pos_ >= text_.size(); }

  void skip_space() {
    while (!at_end() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r')) ++pos_;
  }

  void record(const std::string& path, int depth, std::string v) {
    if (!path.empty() && depth <= max_depth_) out_.members[path] = std::move(v);
  }

  ScanStatus value(const std::string& path, int depth) {
    skip_space();
    if (at_end()) return ScanStatus::truncated;
    if (depth > kNestingLimit) return ScanStatus::invalid;
    const char c = text_[pos_];
    if (c == '{') return object(path, depth);
    if (c == '[') return array(path, depth);
    std::string scalar;
    ScanStatus s = c == '"' ? string(scalar) : bare(scalar);
    if (s == ScanStatus::complete) record(path, depth, std::move(scalar));
    return s;
  }

  ScanStatus object(const std::string& path, int depth) {
    record(path, depth, "{");
    ++pos_;
    skip_space();
    if (at_end()) return ScanStatus::truncated;
    if (text_[pos_] == '}') return ++pos_, ScanStatus::complete;
    for (;;) {
      ScanStatus s = member(path, depth);
      if (s != ScanStatus::complete) return s;
      skip_space();
      if (at_end()) return ScanStatus::truncated;
      if (text_[pos_] == '}') return ++pos_, ScanStatus::complete;
      if (text_[pos_++] != ',') return ScanStatus::invalid;
    }
  }

  ScanStatus member(const std::string& path, int depth) {
    skip_space();
    if (at_end()) return ScanStatus::truncated;
    if (text_[pos_] != '"') return ScanStatus::invalid;
    std::string key;
    if (ScanStatus s = string(key); s != ScanStatus::complete) return s;
    skip_space();
    if (at_end()) return ScanStatus::truncated;
    if (text_[pos_++] != ':') return ScanStatus::invalid;
    return value(path.empty() ? key : path + "." + key, depth + 1);
  }

  ScanStatus array(const std::string& path, int depth) {
    record(path, depth, "[");
    ++pos_;
    skip_space();
    if (at_end()) return ScanStatus::truncated;
    if (text_[pos_] == ']') return ++pos_, ScanStatus::complete;
    for (;;) {
      ScanStatus s = value("", depth + 1);  // array elements are not recorded
      if (s != ScanStatus::complete) return s;
      skip_space();
      if (at_end()) return ScanStatus::truncated;
      if (text_[pos_] == ']') return ++pos_, ScanStatus::complete;
      if (text_[pos_++] != ',') return ScanStatus::invalid;
    }
  }

  ScanStatus string(std::string& out) {
    for (++pos_; !at_end(); ++pos_) {
      const char c = text_[pos_];
      if (c == '"') return ++pos_, ScanStatus::complete;
      if (static_cast<unsigned char>(c) < 0x20) return ScanStatus::invalid;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (++pos_ >= text_.size()) return ScanStatus::truncated;
      if (ScanStatus s = escape(out); s != ScanStatus::complete) return s;
    }
    return ScanStatus::truncated;
  }

  // After a backslash at pos_; \uXXXX is kept as written (the fields we read are ASCII).
  ScanStatus escape(std::string& out) {
    const char e = text_[pos_];
    static constexpr std::string_view kSimple = "\"\\/bfnrt";
    static constexpr std::string_view kDecoded = "\"\\/\b\f\n\r\t";
    if (size_t k = kSimple.find(e); k != std::string_view::npos) {
      out += kDecoded[k];
      return ScanStatus::complete;
    }
    if (e != 'u') return ScanStatus::invalid;
    for (int i = 1; i <= 4; ++i) {
      if (pos_ + i >= text_.size()) return ScanStatus::truncated;
      if (!std::isxdigit(static_cast<unsigned char>(text_[pos_ + i]))) return ScanStatus::invalid;
    }
    out += "\\u";
    out += text_.substr(pos_ + 1, 4);
    pos_ += 4;
    return ScanStatus::complete;
  }

  // Numbers and literals; one that runs into the end of the text is truncated (it may continue).
  ScanStatus bare(std::string& out) {
    size_t start = pos_;
    while (!at_end() && (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '-' ||
                         text_[pos_] == '+' || text_[pos_] == '.')) {
      ++pos_;
    }
    std::string_view tok = text_.substr(start, pos_ - start);
    if (at_end()) return prefix_of_bare(tok) ? ScanStatus::truncated : ScanStatus::invalid;
    if (!valid_bare(tok)) return ScanStatus::invalid;
    out = std::string(tok);
    return ScanStatus::complete;
  }

  static bool valid_bare(std::string_view tok) {
    if (tok == "true" || tok == "false" || tok == "null") return true;
    return valid_number(tok);
  }

  static bool prefix_of_bare(std::string_view tok) {
    for (std::string_view lit : {"true", "false", "null"}) {
      if (!tok.empty() && lit.substr(0, tok.size()) == tok) return true;
    }
    return tok.empty() ? false : (tok[0] == '-' || std::isdigit(static_cast<unsigned char>(tok[0])));
  }

  static bool valid_number(std::string_view tok) {
    size_t i = 0;
    if (i < tok.size() && tok[i] == '-') ++i;
    const size_t digits_start = i;
    while (i < tok.size() && std::isdigit(static_cast<unsigned char>(tok[i]))) ++i;
    if (i == digits_start) return false;
    if (i < tok.size() && tok[i] == '.') {
      const size_t frac = ++i;
      while (i < tok.size() && std::isdigit(static_cast<unsigned char>(tok[i]))) ++i;
      if (i == frac) return false;
    }
    if (i < tok.size() && (tok[i] == 'e' || tok[i] == 'E')) {
      if (++i < tok.size() && (tok[i] == '+' || tok[i] == '-')) ++i;
      const size_t exp = i;
      while (i < tok.size() && std::isdigit(static_cast<unsigned char>(tok[i]))) ++i;
      if (i == exp) return false;
    }
    return i == tok.size();
  }

  std::string_view text_;
  size_t pos_ = 0;
  int max_depth_;
  PrefixScan& out_;
};

}  // namespace

PrefixScan scan_json_prefix(std::string_view text, int max_depth) {
  PrefixScan scan;
  Scanner scanner(text, max_depth, scan);
  scan.status = scanner.run();
  return scan;
}

}  // namespace credtrace::mcp::detail
