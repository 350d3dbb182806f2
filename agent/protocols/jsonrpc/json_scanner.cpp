// Strict JSON scanner (grammar, depth bound, UTF-8 check) and the string decoding/encoding helpers it pairs with.
#include "protocols/jsonrpc/json_scanner.h"

#include <array>
#include <cstdint>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace credtrace::protocols::jsonrpc {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Bytes a string holds as they are: printable ASCII other than '"' and '\\' (the scanner's inner loop skips them).
constexpr auto kPlainStringBytes = [] {
  std::array<bool, 256> plain{};
  for (int c = 0x20; c < 0x80; ++c) plain[static_cast<size_t>(c)] = c != '"' && c != '\\';
  return plain;
}();
bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Length of the valid UTF-8 sequence starting at text[pos] (a byte >= 0x80), 0 when invalid.
size_t utf8_sequence(std::string_view text, size_t pos) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[pos + i]); };
  const uint8_t lead = byte(0);
  size_t length = 0;
  uint8_t low = 0x80, high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;  // no UTF-16 surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (pos + length > text.size()) return 0;
  if (byte(1) < low || byte(1) > high) return 0;
  for (size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return length;
}

void append_code_point(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

uint32_t hex4(std::string_view raw, size_t pos) {
  uint32_t value = 0;
  for (size_t i = 0; i < 4; ++i) value = value * 16 + static_cast<uint32_t>(hex_value(raw[pos + i]));
  return value;
}

// Recursive descent over one text; every function returns false at the first error (error_ says which).
class Scanner {
 public:
  Scanner(std::string_view text, JsonHandler& handler, int max_depth)
      : text_(text), handler_(handler), max_depth_(max_depth) {}

  ScanResult run() {
    skip_space();
    if (value(0)) {
      skip_space();
      if (pos_ != text_.size()) error_ = ScanError::kSyntax;
    }
    return {error_, invalid_utf8_};
  }

 private:
  bool fail(ScanError error) {
    if (error_ == ScanError::kNone) error_ = error;
    return false;
  }
  bool at_end() const { return pos_ >= text_.size(); }
  void skip_space() {
    while (!at_end() && is_space(text_[pos_])) ++pos_;
  }
  bool expect(char c) {
    skip_space();
    if (at_end() || text_[pos_] != c) return fail(ScanError::kSyntax);
    ++pos_;
    return true;
  }

  bool value(int depth) {
    skip_space();
    if (at_end()) return fail(ScanError::kSyntax);
    const char c = text_[pos_];
    if (c == '{' || c == '[') {
      if (depth >= max_depth_) return fail(ScanError::kTooDeep);
      return c == '{' ? object(depth + 1) : array(depth + 1);
    }
    if (c == '"') return string_value();
    if (c == '-' || is_digit(c)) return number();
    return literal();
  }

  bool object(int depth) {
    handler_.begin_container(JsonType::kObject, pos_++);
    skip_space();
    if (!at_end() && text_[pos_] == '}') return close(JsonType::kObject);
    for (;;) {
      if (!member(depth)) return false;
      skip_space();
      if (at_end()) return fail(ScanError::kSyntax);
      const char c = text_[pos_++];
      if (c == '}') return --pos_, close(JsonType::kObject);
      if (c != ',') return fail(ScanError::kSyntax);
    }
  }

  bool member(int depth) {
    skip_space();
    if (at_end() || text_[pos_] != '"') return fail(ScanError::kSyntax);
    std::string_view raw;
    bool escaped = false;
    if (!string_body(raw, escaped)) return false;
    handler_.key(raw, escaped);
    return expect(':') && value(depth);
  }

  bool array(int depth) {
    handler_.begin_container(JsonType::kArray, pos_++);
    skip_space();
    if (!at_end() && text_[pos_] == ']') return close(JsonType::kArray);
    for (;;) {
      if (!value(depth)) return false;
      skip_space();
      if (at_end()) return fail(ScanError::kSyntax);
      const char c = text_[pos_++];
      if (c == ']') return --pos_, close(JsonType::kArray);
      if (c != ',') return fail(ScanError::kSyntax);
    }
  }

  bool close(JsonType type) {
    ++pos_;
    handler_.end_container(type, pos_);
    return true;
  }

  bool string_value() {
    const size_t start = pos_;
    std::string_view raw;
    bool escaped = false;
    if (!string_body(raw, escaped)) return false;
    handler_.scalar(JsonType::kString, raw, escaped, start);
    return true;
  }

  // The first byte at or after `from` that is not plain string content (locals: the compiler keeps them in registers).
  size_t skip_plain_string_bytes(size_t from) const {
    const char* p = text_.data() + from;
    const char* const end = text_.data() + text_.size();
#if defined(__SSE2__)
    // 16 bytes at a time: a quote, a backslash, a control byte (< 0x20) or a non-ASCII byte (sign bit) ends the run.
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(0x20);
    while (end - p >= 16) {
      const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      const __m128i special = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(bytes, quote), _mm_cmpeq_epi8(bytes, backslash)),
                                           _mm_cmplt_epi8(bytes, space));  // signed: also every byte >= 0x80
      if (const int mask = _mm_movemask_epi8(special)) return static_cast<size_t>(p - text_.data()) + __builtin_ctz(mask);
      p += 16;
    }
#endif
    while (p != end && kPlainStringBytes[static_cast<uint8_t>(*p)]) ++p;
    return static_cast<size_t>(p - text_.data());
  }

  // At the opening quote; leaves pos_ after the closing one.
  bool string_body(std::string_view& raw, bool& escaped) {
    const size_t start = ++pos_;
    while (!at_end()) {
      pos_ = skip_plain_string_bytes(pos_);
      if (at_end()) break;
      const auto c = static_cast<uint8_t>(text_[pos_]);
      if (c == '"') {
        raw = text_.substr(start, pos_ - start);
        ++pos_;
        return true;
      }
      if (c < 0x20) return fail(ScanError::kSyntax);
      if (c == '\\') {
        escaped = true;
        if (!escape()) return false;
      } else if (c >= 0x80) {
        const size_t length = utf8_sequence(text_, pos_);
        if (length == 0) invalid_utf8_ = true;
        pos_ += length == 0 ? 1 : length;
      } else {
        ++pos_;
      }
    }
    return fail(ScanError::kSyntax);
  }

  bool escape() {
    if (++pos_ >= text_.size()) return fail(ScanError::kSyntax);
    const char e = text_[pos_];
    if (std::string_view("\"\\/bfnrt").find(e) != std::string_view::npos) return ++pos_, true;
    if (e != 'u' || pos_ + 4 >= text_.size()) return fail(ScanError::kSyntax);
    for (size_t i = 1; i <= 4; ++i) {
      if (hex_value(text_[pos_ + i]) < 0) return fail(ScanError::kSyntax);
    }
    pos_ += 5;
    return true;
  }

  bool digits() {
    const size_t start = pos_;
    while (!at_end() && is_digit(text_[pos_])) ++pos_;
    return pos_ > start;
  }

  bool number() {
    const size_t start = pos_;
    if (text_[pos_] == '-') ++pos_;
    if (!at_end() && text_[pos_] == '0') {
      ++pos_;
    } else if (!digits()) {
      return fail(ScanError::kSyntax);
    }
    if (!at_end() && text_[pos_] == '.') {
      ++pos_;
      if (!digits()) return fail(ScanError::kSyntax);
    }
    if (!at_end() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
      if (!at_end() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      if (!digits()) return fail(ScanError::kSyntax);
    }
    handler_.scalar(JsonType::kNumber, text_.substr(start, pos_ - start), false, start);
    return true;
  }

  bool literal() {
    for (auto [word, type] : {std::pair{std::string_view("true"), JsonType::kBoolean},
                              std::pair{std::string_view("false"), JsonType::kBoolean},
                              std::pair{std::string_view("null"), JsonType::kNull}}) {
      if (text_.substr(pos_, word.size()) == word) {
        handler_.scalar(type, word, false, pos_);
        pos_ += word.size();
        return true;
      }
    }
    return fail(ScanError::kSyntax);
  }

  std::string_view text_;
  JsonHandler& handler_;
  int max_depth_;
  size_t pos_ = 0;
  ScanError error_ = ScanError::kNone;
  bool invalid_utf8_ = false;
};

// After a backslash at raw[pos]: appends the decoded character(s), returns the index after the escape.
size_t decode_escape(std::string_view raw, size_t pos, std::string& out) {
  static constexpr std::string_view kSimple = "\"\\/bfnrt";
  static constexpr std::string_view kDecoded = "\"\\/\b\f\n\r\t";
  const char e = raw[pos];
  if (size_t k = kSimple.find(e); k != std::string_view::npos) {
    out += kDecoded[k];
    return pos + 1;
  }
  uint32_t cp = hex4(raw, pos + 1);
  size_t next = pos + 5;
  const bool high = cp >= 0xD800 && cp <= 0xDBFF;
  if (high && next + 6 <= raw.size() && raw[next] == '\\' && raw[next + 1] == 'u') {
    const uint32_t low = hex4(raw, next + 2);
    if (low >= 0xDC00 && low <= 0xDFFF) {
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
      next += 6;
    }
  }
  if (cp >= 0xD800 && cp <= 0xDFFF) {
    out += kReplacement;
  } else {
    append_code_point(cp, out);
  }
  return next;
}

}  // namespace

std::string_view type_name(JsonType type) {
  switch (type) {
    case JsonType::kObject: return "object";
    case JsonType::kArray: return "array";
    case JsonType::kString: return "string";
    case JsonType::kNumber: return "number";
    case JsonType::kBoolean: return "boolean";
    case JsonType::kNull: return "null";
  }
  return "null";
}

ScanResult scan_json(std::string_view text, JsonHandler& handler, int max_depth) {
  return Scanner(text, handler, max_depth).run();
}

void unescape(std::string_view raw, std::string& out) {
  size_t pos = 0;
  while (pos < raw.size()) {
    const size_t backslash = raw.find('\\', pos);
    out.append(raw.substr(pos, backslash - pos));
    if (backslash == std::string_view::npos) return;
    pos = decode_escape(raw, backslash + 1, out);
  }
}

void append_valid_utf8(std::string_view text, std::string& out) {
  size_t pos = 0;
  while (pos < text.size()) {
    if (static_cast<uint8_t>(text[pos]) < 0x80) {
      out += text[pos++];
      continue;
    }
    const size_t length = utf8_sequence(text, pos);
    if (length == 0) {
      out += kReplacement;
      ++pos;
    } else {
      out.append(text.substr(pos, length));
      pos += length;
    }
  }
}

void append_json_string(std::string_view text, std::string& out) {
  std::string valid;
  append_valid_utf8(text, valid);
  out += '"';
  for (char c : valid) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<uint8_t>(c) < 0x20) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out += kHex[(c >> 4) & 0xF];
      out += kHex[c & 0xF];
    } else {
      out += c;
    }
  }
  out += '"';
}

}  // namespace credtrace::protocols::jsonrpc
