// Log line layout: the text and JSON forms, the journald priority prefix, UTC timestamps and escaping.
#include "logging/line_format.h"

#include <ctime>

namespace credtrace::log {
namespace {

// Length of the valid UTF-8 sequence starting at text[at], 0 when the byte there does not start one.
size_t utf8_sequence_length(std::string_view text, size_t at) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  unsigned char lead = byte(at);
  size_t length = 0;
  unsigned min = 0;
  unsigned code = 0;
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) length = 2, min = 0x80, code = lead & 0x1Fu;
  else if (lead >= 0xE0 && lead <= 0xEF) length = 3, min = 0x800, code = lead & 0x0Fu;
  else if (lead >= 0xF0 && lead <= 0xF4) length = 4, min = 0x10000, code = lead & 0x07u;
  else return 0;
  if (at + length > text.size()) return 0;
  for (size_t i = 1; i < length; ++i) {
    if ((byte(at + i) & 0xC0u) != 0x80u) return 0;
    code = (code << 6) | (byte(at + i) & 0x3Fu);
  }
  if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;  // overlong, range, surrogate
  return length;
}

void append_hex_escape(std::string& out, std::string_view prefix, unsigned value, int digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.append(prefix);
  for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) out.push_back(kHex[(value >> shift) & 0xFu]);
}

std::string_view ansi_color(Level level) {
  switch (level) {
    case Level::trace: return "\033[90m";       // grey
    case Level::debug: return "\033[36m";       // cyan
    case Level::info: return "\033[32m";        // green
    case Level::warn: return "\033[33m\033[1m";  // bold yellow
    case Level::error: return "\033[31m\033[1m"; // bold red
  }
  return "";
}

}  // namespace

int syslog_priority(Level level) {
  switch (level) {
    case Level::error: return 3;  // SD_ERR
    case Level::warn: return 4;   // SD_WARNING
    case Level::info: return 6;   // SD_INFO
    case Level::debug:
    case Level::trace: return 7;  // SD_DEBUG
  }
  return 6;
}

std::string utc_timestamp(std::chrono::system_clock::time_point time) {
  using namespace std::chrono;
  const auto since_epoch = time.time_since_epoch();
  const time_t seconds = static_cast<time_t>(floor<std::chrono::seconds>(since_epoch).count());
  const auto millis = duration_cast<milliseconds>(since_epoch - floor<std::chrono::seconds>(since_epoch)).count();
  struct tm tm {};
  gmtime_r(&seconds, &tm);
  char stamp[40];
  size_t used = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(stamp, used);
  out.push_back('.');
  out.push_back(static_cast<char>('0' + millis / 100));
  out.push_back(static_cast<char>('0' + millis / 10 % 10));
  out.push_back(static_cast<char>('0' + millis % 10));
  out.push_back('Z');
  return out;
}

std::string json_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  for (size_t at = 0; at < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[at]);
    const size_t length = utf8_sequence_length(text, at);
    if (length == 0) {
      out.append("\\ufffd");
      ++at;
      continue;
    }
    if (length > 1) {
      out.append(text.substr(at, length));
      at += length;
      continue;
    }
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      case '\b': out.append("\\b"); break;
      case '\f': out.append("\\f"); break;
      default:
        if (c < 0x20 || c == 0x7F) append_hex_escape(out, "\\u", c, 4);
        else out.push_back(static_cast<char>(c));
    }
    ++at;
  }
  return out;
}

std::string text_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t at = 0; at < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[at]);
    const size_t length = utf8_sequence_length(text, at);
    if (length > 1) {
      out.append(text.substr(at, length));
      at += length;
      continue;
    }
    if (length == 0 || c < 0x20 || c == 0x7F) {
      if (c == '\n') out.append("\\n");
      else if (c == '\r') out.append("\\r");
      else if (c == '\t') out.append("\\t");
      else append_hex_escape(out, "\\x", c, 2);
    } else {
      out.push_back(static_cast<char>(c));
    }
    ++at;
  }
  return out;
}

std::string format_line(const LineStyle& style, Level level, std::chrono::system_clock::time_point time,
                        std::string_view message) {
  std::string line;
  line.reserve(message.size() + style.component.size() + 64);
  if (style.syslog_prefix) line.append("<").append(std::to_string(syslog_priority(level))).append(">");
  if (style.format == Format::json) {
    line.append("{\"ts\":\"").append(utc_timestamp(time));
    line.append("\",\"level\":\"").append(level_name(level));
    line.append("\",\"component\":\"").append(json_escape(style.component));
    line.append("\",\"msg\":\"").append(json_escape(message)).append("\"}\n");
    return line;
  }
  if (style.timestamp && !style.syslog_prefix) line.append(utc_timestamp(time)).push_back(' ');
  if (!style.component.empty()) line.append(text_escape(style.component)).append(": ");
  if (style.color) line.append(ansi_color(level)).append(level_name(level)).append("\033[0m");
  else line.append(level_name(level));
  line.append(": ").append(text_escape(message)).push_back('\n');
  return line;
}

}  // namespace credtrace::log
