// Layout of one log line: text (syslog prefix, UTC timestamp, component, coloured level) or a JSON object; escaping.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "logging/log.h"

namespace credtrace::log {

struct LineStyle {
  Format format = Format::text;
  std::string component;
  bool syslog_prefix = false;  // "<N>" before the line
  bool timestamp = true;       // text only (a JSON line always has "ts")
  bool color = false;          // text only: ANSI colour around the level word
};

// One finished line, '\n' included. `message` is used as given (the caller has masked it).
std::string format_line(const LineStyle& style, Level level, std::chrono::system_clock::time_point time,
                        std::string_view message);

// sd-daemon priority of a level: error 3, warn 4, info 6, debug and trace 7.
int syslog_priority(Level level);

// "2024-06-01T12:00:00.123Z"
std::string utc_timestamp(std::chrono::system_clock::time_point time);

// The inside of a JSON string: '"', '\\' and control characters escaped, invalid UTF-8 bytes as U+FFFD.
std::string json_escape(std::string_view text);

// Text for a single line: control characters as \n, \r, \t or \xHH, invalid UTF-8 bytes as \xHH; the rest as is.
std::string text_escape(std::string_view text);

}  // namespace credtrace::log
