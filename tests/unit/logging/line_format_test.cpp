// Tests of the log line layout: text and JSON forms, journald priorities, timestamps, JSON and text escaping.
#include "logging/line_format.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>

namespace credtrace::log {
namespace {

using std::chrono::system_clock;

// 2024-06-01T12:34:56.789Z
system_clock::time_point fixed_time() {
  return system_clock::time_point(std::chrono::seconds(1717245296)) + std::chrono::milliseconds(789);
}

TEST(LineFormat, TextWithTimestampComponentAndLevel) {
  LineStyle style{Format::text, "credtrace-agent", false, true, false};
  EXPECT_EQ(format_line(style, Level::warn, fixed_time(), "spool full"),
            "2024-06-01T12:34:56.789Z credtrace-agent: warn: spool full\n");
  style.timestamp = false;
  EXPECT_EQ(format_line(style, Level::error, fixed_time(), "x"), "credtrace-agent: error: x\n");
}

TEST(LineFormat, TextIsOneLineWhateverTheMessageHolds) {
  LineStyle style{Format::text, "c", false, false, false};
  std::string line = format_line(style, Level::info, fixed_time(), std::string("a\nb\r\tc\x01\x7f d\xff\xc3\xa9", 13));
  EXPECT_EQ(line, "c: info: a\\nb\\r\\tc\\x01\\x7f d\\xff\xc3\xa9\n");
  EXPECT_EQ(line.find('\n'), line.size() - 1);
}

TEST(LineFormat, SyslogPrefixGivesThePriorityAndDropsTheTimestamp) {
  LineStyle style{Format::text, "credtrace-collector", true, true, false};
  EXPECT_EQ(format_line(style, Level::error, fixed_time(), "e"), "<3>credtrace-collector: error: e\n");
  EXPECT_EQ(format_line(style, Level::warn, fixed_time(), "w"), "<4>credtrace-collector: warn: w\n");
  EXPECT_EQ(format_line(style, Level::info, fixed_time(), "i"), "<6>credtrace-collector: info: i\n");
  EXPECT_EQ(format_line(style, Level::debug, fixed_time(), "d"), "<7>credtrace-collector: debug: d\n");
  EXPECT_EQ(format_line(style, Level::trace, fixed_time(), "t"), "<7>credtrace-collector: trace: t\n");
  style.format = Format::json;
  std::string json_line = format_line(style, Level::warn, fixed_time(), "w");
  ASSERT_TRUE(json_line.starts_with("<4>{")) << json_line;
  EXPECT_EQ(nlohmann::json::parse(json_line.substr(3))["msg"], "w");
}

TEST(LineFormat, ColourOnlyAroundTheLevel) {
  LineStyle style{Format::text, "c", false, false, true};
  EXPECT_EQ(format_line(style, Level::error, fixed_time(), "x"), "c: \033[31m\033[1merror\033[0m: x\n");
}

TEST(LineFormat, JsonObjectPerLine) {
  LineStyle style{Format::json, "credtrace-agent", false, true, false};
  std::string line = format_line(style, Level::info, fixed_time(), "ready: 3 probes");
  EXPECT_EQ(line,
            "{\"ts\":\"2024-06-01T12:34:56.789Z\",\"level\":\"info\",\"component\":\"credtrace-agent\","
            "\"msg\":\"ready: 3 probes\"}\n");
}

TEST(LineFormat, JsonEscapingRoundTrips) {
  LineStyle style{Format::json, "comp \"x\"", false, true, false};
  const std::string message = std::string("quote \" backslash \\ newline \n tab \t nul ") + '\0' +
                              " bell \x07 del \x7f é 🙂 </script>";
  std::string line = format_line(style, Level::error, fixed_time(), message);
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  nlohmann::json parsed = nlohmann::json::parse(line);
  EXPECT_EQ(parsed["msg"], message);
  EXPECT_EQ(parsed["component"], "comp \"x\"");
  EXPECT_EQ(parsed["level"], "error");
}

TEST(LineFormat, JsonEscapeOfInvalidUtf8IsReplacementCharacter) {
  EXPECT_EQ(json_escape("a\xff" "b"), "a\\ufffdb");
  EXPECT_EQ(json_escape("\xc3"), "\\ufffd");                  // truncated sequence
  EXPECT_EQ(json_escape("\xc0\xaf"), "\\ufffd\\ufffd");       // overlong '/'
  EXPECT_EQ(json_escape("\xed\xa0\x80"), "\\ufffd\\ufffd\\ufffd");  // UTF-16 surrogate
  EXPECT_EQ(json_escape("\x1f"), "\\u001f");
  EXPECT_EQ(json_escape("\xe2\x82\xac"), "\xe2\x82\xac");     // € as is
  EXPECT_TRUE(nlohmann::json::accept("\"" + json_escape("\xff\xfe\x80 x") + "\""));
}

TEST(LineFormat, Priorities) {
  EXPECT_EQ(syslog_priority(Level::error), 3);
  EXPECT_EQ(syslog_priority(Level::warn), 4);
  EXPECT_EQ(syslog_priority(Level::info), 6);
  EXPECT_EQ(syslog_priority(Level::debug), 7);
  EXPECT_EQ(syslog_priority(Level::trace), 7);
}

TEST(LineFormat, UtcTimestampPadsMilliseconds) {
  EXPECT_EQ(utc_timestamp(system_clock::time_point(std::chrono::seconds(0)) + std::chrono::milliseconds(7)),
            "1970-01-01T00:00:00.007Z");
}

}  // namespace
}  // namespace credtrace::log
