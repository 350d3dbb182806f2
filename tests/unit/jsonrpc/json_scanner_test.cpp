// Tests of the strict JSON scanner: grammar table, depth bound, UTF-8 checks and string decoding/encoding.
#include "protocols/jsonrpc/json_scanner.h"

#include <gtest/gtest.h>

#include <string>

namespace credtrace::protocols::jsonrpc {
namespace {

// Records the events as a compact trace: { } [ ] k:name, then the type's first letter and the raw scalar.
class Trace final : public JsonHandler {
 public:
  void begin_container(JsonType type, size_t) override { text += type == JsonType::kObject ? "{" : "["; }
  void end_container(JsonType type, size_t) override { text += type == JsonType::kObject ? "}" : "]"; }
  void key(std::string_view raw, bool) override { text += "k:" + std::string(raw) + " "; }
  void scalar(JsonType type, std::string_view raw, bool, size_t) override {
    text += std::string(type_name(type).substr(0, 1)) + ":" + std::string(raw) + " ";
  }
  std::string text;
};

ScanError scan_error(std::string_view text, int max_depth = 64) {
  Trace trace;
  return scan_json(text, trace, max_depth).error;
}

struct GrammarCase {
  std::string_view text;
  ScanError error;
};

class GrammarTest : public ::testing::TestWithParam<GrammarCase> {};

TEST_P(GrammarTest, AcceptsExactlyJson) { EXPECT_EQ(scan_error(GetParam().text), GetParam().error) << GetParam().text; }

INSTANTIATE_TEST_SUITE_P(
    Table, GrammarTest,
    ::testing::Values(GrammarCase{R"({})", ScanError::kNone}, GrammarCase{R"([])", ScanError::kNone},
                      GrammarCase{R"( {"a" : [1, -2.5e+3, true, false, null, "x"]} )", ScanError::kNone},
                      GrammarCase{R"("just a string")", ScanError::kNone}, GrammarCase{"0", ScanError::kNone},
                      GrammarCase{R"({"a":"\u00e9\n\"\\\/"})", ScanError::kNone},
                      GrammarCase{"", ScanError::kSyntax}, GrammarCase{"   ", ScanError::kSyntax},
                      GrammarCase{R"({"a":1,})", ScanError::kSyntax}, GrammarCase{R"([1,])", ScanError::kSyntax},
                      GrammarCase{R"({"a" 1})", ScanError::kSyntax}, GrammarCase{R"({a:1})", ScanError::kSyntax},
                      GrammarCase{R"({"a":1}})", ScanError::kSyntax}, GrammarCase{R"({"a":1} x)", ScanError::kSyntax},
                      GrammarCase{R"({"a":01})", ScanError::kSyntax}, GrammarCase{R"({"a":1.})", ScanError::kSyntax},
                      GrammarCase{R"({"a":-})", ScanError::kSyntax}, GrammarCase{R"({"a":1e})", ScanError::kSyntax},
                      GrammarCase{R"({"a":tru})", ScanError::kSyntax}, GrammarCase{R"({"a":"\x"})", ScanError::kSyntax},
                      GrammarCase{R"({"a":"\u12"})", ScanError::kSyntax}, GrammarCase{"{\"a\":\"\x01\"}", ScanError::kSyntax},
                      GrammarCase{R"({"a":"open)", ScanError::kSyntax}, GrammarCase{R"({"a":[1,2)", ScanError::kSyntax},
                      GrammarCase{"{'a':1}", ScanError::kSyntax}, GrammarCase{R"({"a":NaN})", ScanError::kSyntax}));

TEST(JsonScanner, ReportsEventsInOrder) {
  Trace trace;
  ASSERT_EQ(scan_json(R"({"a":[1,"s",true,null],"b":{}})", trace).error, ScanError::kNone);
  EXPECT_EQ(trace.text, "{k:a [n:1 s:s b:true n:null ]k:b {}}");
}

// Long strings are skipped 16 bytes at a time: whatever the position of the first quote, backslash, control or
// non-ASCII byte within or after a block, the string ends, escapes, fails or is checked exactly there.
TEST(JsonScanner, LongStringsStopAtTheirFirstSpecialByteWherever) {
  for (size_t k = 0; k < 40; ++k) {
    const std::string run(k, 'a');
    const std::string tail(20, 'b');
    Trace plain;
    ASSERT_EQ(scan_json("\"" + run + "\"", plain).error, ScanError::kNone) << k;
    EXPECT_EQ(plain.text, "s:" + run + " ") << k;
    Trace escaped;
    ASSERT_EQ(scan_json("\"" + run + "\\n" + tail + "\"", escaped).error, ScanError::kNone) << k;
    EXPECT_EQ(escaped.text, "s:" + run + "\\n" + tail + " ") << k;
    EXPECT_EQ(scan_error("\"" + run + "\x01" + tail + "\""), ScanError::kSyntax) << k;
    Trace utf8;
    const ScanResult accented = scan_json("\"" + run + "\xC3\xA9" + tail + "\"", utf8);
    EXPECT_EQ(accented.error, ScanError::kNone) << k;
    EXPECT_FALSE(accented.invalid_utf8) << k;
    EXPECT_EQ(utf8.text, "s:" + run + "\xC3\xA9" + tail + " ") << k;
    Trace invalid;
    EXPECT_TRUE(scan_json("\"" + run + "\xFF" + tail + "\"", invalid).invalid_utf8) << k;
    EXPECT_EQ(scan_error("\"" + run + tail), ScanError::kSyntax) << k;  // never closed
  }
}

TEST(JsonScanner, DepthIsBounded) {
  EXPECT_EQ(scan_error("[[[]]]", 3), ScanError::kNone);
  EXPECT_EQ(scan_error("[[[[]]]]", 3), ScanError::kTooDeep);
  EXPECT_EQ(scan_error(std::string(100000, '[')), ScanError::kTooDeep);
  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += "{\"a\":";
  EXPECT_EQ(scan_error(objects), ScanError::kTooDeep);
}

TEST(JsonScanner, InvalidUtf8IsToleratedAndReported) {
  Trace trace;
  for (std::string_view bad : {"\xff", "\xc3", "\xe2\x82", "\xed\xa0\x80", "\xc0\xaf", "\xf4\x90\x80\x80"}) {
    const std::string text = "{\"a\":\"x" + std::string(bad) + "y\"}";
    ScanResult result = scan_json(text, trace);
    EXPECT_EQ(result.error, ScanError::kNone);
    EXPECT_TRUE(result.invalid_utf8) << ::testing::PrintToString(bad);
  }
  EXPECT_FALSE(scan_json("{\"a\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}", trace).invalid_utf8);
  EXPECT_EQ(scan_error("{\"a\":1,\xff}"), ScanError::kSyntax);  // outside a string it is not JSON
}

TEST(JsonScanner, UnescapeDecodesEveryEscape) {
  std::string out;
  unescape(R"(a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00\ud800x)", out);
  EXPECT_EQ(out, "a\"b\\c/d\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80\xef\xbf\xbdx");
}

TEST(JsonScanner, JsonStringEncodingIsValidUtf8AndEscaped) {
  std::string out;
  append_json_string("q\"b\\\x01\xff", out);
  EXPECT_EQ(out, "\"q\\\"b\\\\\\u0001\xef\xbf\xbd\"");
}

}  // namespace
}  // namespace credtrace::protocols::jsonrpc
