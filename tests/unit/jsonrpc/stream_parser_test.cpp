// Tests of the NDJSON JSON-RPC parser: message fields, every split, batches, oversize, gaps, bad input, no leaks.
#include "protocols/jsonrpc/stream_parser.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "collecting_sink.h"
#include "protocols/jsonrpc/json_scanner.h"
#include "fake_secrets.h"

namespace credtrace::protocols {
namespace {

using testing::CollectingSink;
using testing::Seen;

const std::string kToolsCall =
    R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"read_file",)"
    R"("arguments":{"path":"/etc/hosts","options":{"recursive":true,"depth":2,"tags":["a","b"]}}}})";
const std::string kResult =
    R"({"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"line1\nline2"}],"isError":false}})";
const std::string kNotification = R"({"jsonrpc":"2.0","method":"notifications/initialized"})";

std::vector<Seen> parse(std::string_view bytes, JsonRpcStreamParser& parser) {
  CollectingSink sink;
  parser.feed(bytes, sink);
  return std::move(sink.messages);
}

std::vector<Seen> parse(std::string_view bytes) {
  JsonRpcStreamParser parser;
  return parse(bytes, parser);
}

// The fields a split must not change.
std::string summary(const Seen& seen) {
  const JsonRpcMessage& m = seen.message;
  std::string out = std::string(kind_name(m.kind)) + "|" + m.id + "|" + m.method + "|" + m.name + "|" +
                    m.arguments_shape + "|" + std::to_string(m.bytes);
  for (const auto& [text, origin] : seen.values) out += "|" + text + ":" + std::to_string(static_cast<int>(origin));
  return out;
}

std::vector<std::string> summaries(const std::vector<Seen>& seen) {
  std::vector<std::string> out;
  for (const Seen& s : seen) out.push_back(summary(s));
  return out;
}

TEST(JsonRpcParser, ToolsCallRequestFields) {
  auto seen = parse(kToolsCall + "\n");
  ASSERT_EQ(seen.size(), 1u);
  const JsonRpcMessage& m = seen[0].message;
  EXPECT_EQ(m.kind, JsonRpcKind::kRequest);
  EXPECT_EQ(m.id, "7");
  EXPECT_EQ(m.method, "tools/call");
  EXPECT_EQ(m.name, "read_file");
  EXPECT_EQ(m.arguments_shape,
            R"({"options":{"depth":"number","recursive":"boolean","tags":["string"]},"path":"string"})");
  EXPECT_FALSE(m.arguments_shape_truncated);
  EXPECT_EQ(m.bytes, kToolsCall.size());
  EXPECT_FALSE(m.in_batch);
  ASSERT_EQ(seen[0].values.size(), 4u);  // name, path and the two tags: every string under params
  EXPECT_EQ(seen[0].values[0], std::make_pair(std::string("read_file"), ValueOrigin::kParams));
  EXPECT_EQ(seen[0].values[1], std::make_pair(std::string("/etc/hosts"), ValueOrigin::kArguments));
}

TEST(JsonRpcParser, ResultFieldsAndDecodedValues) {
  auto seen = parse(kResult + "\r\n");
  ASSERT_EQ(seen.size(), 1u);
  const JsonRpcMessage& m = seen[0].message;
  EXPECT_EQ(m.kind, JsonRpcKind::kResponse);
  EXPECT_EQ(m.is_error, false);
  EXPECT_EQ(m.bytes, kResult.size());
  ASSERT_EQ(seen[0].values.size(), 2u);
  EXPECT_EQ(seen[0].values[1], std::make_pair(std::string("line1\nline2"), ValueOrigin::kResult));
}

struct KindCase {
  std::string line;
  JsonRpcKind kind;
  std::string id;
};

class KindTest : public ::testing::TestWithParam<KindCase> {};

TEST_P(KindTest, Classifies) {
  auto seen = parse(GetParam().line + "\n");
  ASSERT_EQ(seen.size(), 1u) << GetParam().line;
  EXPECT_EQ(seen[0].message.kind, GetParam().kind) << GetParam().line;
  EXPECT_EQ(seen[0].message.id, GetParam().id) << GetParam().line;
}

INSTANTIATE_TEST_SUITE_P(
    Table, KindTest,
    ::testing::Values(
        KindCase{R"({"jsonrpc":"2.0","id":1,"method":"ping"})", JsonRpcKind::kRequest, "1"},
        KindCase{R"({"jsonrpc":"2.0","id":"abc","method":"ping"})", JsonRpcKind::kRequest, R"("abc")"},
        KindCase{R"({"jsonrpc":"2.0","id":"a\"b\u0063","method":"ping"})", JsonRpcKind::kRequest, R"("a\"bc")"},
        KindCase{R"({"jsonrpc":"2.0","id":-3.5e2,"method":"ping"})", JsonRpcKind::kRequest, "-3.5e2"},
        KindCase{R"({"method":"ping","jsonrpc":"2.0","id":1})", JsonRpcKind::kRequest, "1"},
        KindCase{R"({"jsonrpc":"2.0","method":"notifications/progress"})", JsonRpcKind::kNotification, ""},
        KindCase{R"({"jsonrpc":"2.0","id":1,"result":{}})", JsonRpcKind::kResponse, "1"},
        KindCase{R"({"jsonrpc":"2.0","id":1,"result":null})", JsonRpcKind::kResponse, "1"},
        KindCase{R"({"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"no"}})", JsonRpcKind::kErrorResponse,
                 "1"},
        KindCase{R"({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse"}})",
                 JsonRpcKind::kErrorResponse, "null"},
        KindCase{R"({"id":1,"method":"ping"})", JsonRpcKind::kInvalid, "1"},
        KindCase{R"({"jsonrpc":"1.0","id":1,"method":"ping"})", JsonRpcKind::kInvalid, "1"},
        KindCase{R"({"jsonrpc":2.0,"id":1,"method":"ping"})", JsonRpcKind::kInvalid, "1"},
        KindCase{R"({"jsonrpc":"2.0","id":{},"method":"ping"})", JsonRpcKind::kInvalid, ""},
        KindCase{R"({"jsonrpc":"2.0","id":true,"method":"ping"})", JsonRpcKind::kInvalid, ""},
        KindCase{R"({"jsonrpc":"2.0","id":null,"method":"ping"})", JsonRpcKind::kInvalid, "null"},
        KindCase{R"({"jsonrpc":"2.0","id":1,"result":{},"error":{"code":1}})", JsonRpcKind::kInvalid, "1"},
        KindCase{R"({"jsonrpc":"2.0","id":1,"method":"x","result":{}})", JsonRpcKind::kInvalid, "1"},
        KindCase{R"({"jsonrpc":"2.0","id":1,"method":7})", JsonRpcKind::kInvalid, "1"},
        KindCase{R"({"jsonrpc":"2.0","id":1,"error":"text"})", JsonRpcKind::kInvalid, "1"},
        KindCase{R"({"jsonrpc":"2.0","result":{}})", JsonRpcKind::kInvalid, ""},
        KindCase{R"({})", JsonRpcKind::kInvalid, ""}));

TEST(JsonRpcParser, ErrorResponseCode) {
  auto seen = parse(R"({"jsonrpc":"2.0","id":"x","error":{"code":-32602,"message":"bad","data":"d"}})"
                    "\n"
                    R"({"jsonrpc":"2.0","id":"y","error":{"code":1.5,"message":"odd"}})"
                    "\n");
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].message.error_code, -32602);
  ASSERT_EQ(seen[0].values.size(), 2u);
  EXPECT_EQ(seen[0].values[0].second, ValueOrigin::kError);
  EXPECT_FALSE(seen[1].message.error_code.has_value());
}

TEST(JsonRpcParser, InitializeRequestAndAnswer) {
  auto seen = parse(
      R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18",)"
      R"("capabilities":{"sampling":{},"roots":{"listChanged":true}},"clientInfo":{"name":"claude-code","version":"1.2.3"}}})"
      "\n"
      R"({"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-06-18","capabilities":{"tools":{"listChanged":true},)"
      R"("logging":{}},"serverInfo":{"name":"everything","version":"0.9"}}})"
      "\n");
  ASSERT_EQ(seen.size(), 2u);
  const JsonRpcMessage& request = seen[0].message;
  EXPECT_EQ(request.protocol_version, "2025-06-18");
  EXPECT_EQ(request.client_name, "claude-code");
  EXPECT_EQ(request.client_version, "1.2.3");
  EXPECT_EQ(request.capabilities, (std::vector<std::string>{"roots", "sampling"}));
  const JsonRpcMessage& answer = seen[1].message;
  EXPECT_EQ(answer.server_name, "everything");
  EXPECT_EQ(answer.server_version, "0.9");
  EXPECT_EQ(answer.protocol_version, "2025-06-18");
  EXPECT_EQ(answer.capabilities, (std::vector<std::string>{"logging", "tools"}));
  EXPECT_TRUE(answer.client_name.empty());
}

TEST(JsonRpcParser, LongEscapedFieldsAreCappedAtACharacterBoundary) {
  for (size_t pad = JsonRpcMessage::kMaxField - 3; pad < JsonRpcMessage::kMaxField * 6 + 3; ++pad) {
    const std::string method = std::string(pad, 'm') + "\\u00e9\\ud83d\\ude00";
    auto seen = parse(R"({"jsonrpc":"2.0","id":1,"method":")" + method + R"(","params":{"name":"n"}})" "\n");
    ASSERT_EQ(seen.size(), 1u);
    const std::string& m = seen[0].message.method;
    ASSERT_LE(m.size(), JsonRpcMessage::kMaxField);
    std::string valid;
    jsonrpc::append_valid_utf8(m, valid);
    ASSERT_EQ(valid, m) << pad;  // never a character cut in two
  }
}

TEST(JsonRpcParser, ClientInfoOnlyForInitialize) {
  auto seen = parse(R"({"jsonrpc":"2.0","id":1,"method":"other","params":{"clientInfo":{"name":"x"},"name":"n"}})"
                    "\n");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_TRUE(seen[0].message.client_name.empty());
  EXPECT_TRUE(seen[0].message.name.empty());
}

TEST(JsonRpcParser, ToolsListAnswerKeepsToolsJson) {
  auto seen = parse(R"({"jsonrpc":"2.0","id":2,"result":{"tools":[{"name":"echo","inputSchema":{}}]}})"
                    "\n");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].tools_json, R"([{"name":"echo","inputSchema":{}}])");
}

TEST(JsonRpcParser, EverySplitOfTwoMessagesGivesTheSameResult) {
  const std::string input = kToolsCall + "\n" + kResult + "\r\n";
  const auto expected = summaries(parse(input));
  ASSERT_EQ(expected.size(), 2u);
  for (size_t cut = 0; cut <= input.size(); ++cut) {
    JsonRpcStreamParser parser;
    CollectingSink sink;
    parser.feed(std::string_view(input).substr(0, cut), sink);
    parser.feed(std::string_view(input).substr(cut), sink);
    ASSERT_EQ(summaries(sink.messages), expected) << "cut at " << cut;
    EXPECT_EQ(parser.buffered(), 0u);
  }
}

TEST(JsonRpcParser, EveryPairOfCutsGivesTheSameResult) {
  const std::string input = kNotification + "\n" + kResult + "\n";
  const auto expected = summaries(parse(input));
  for (size_t a = 0; a <= input.size(); a += 3) {
    for (size_t b = a; b <= input.size(); b += 5) {
      JsonRpcStreamParser parser;
      CollectingSink sink;
      std::string_view in = input;
      parser.feed(in.substr(0, a), sink);
      parser.feed(in.substr(a, b - a), sink);
      parser.feed(in.substr(b), sink);
      ASSERT_EQ(summaries(sink.messages), expected) << a << "," << b;
    }
  }
}

TEST(JsonRpcParser, OneByteFeeds) {
  const std::string input = kToolsCall + "\n" + kNotification + "\n" + kResult + "\n";
  JsonRpcStreamParser parser;
  CollectingSink sink;
  for (char c : input) parser.feed(std::string_view(&c, 1), sink);
  EXPECT_EQ(summaries(sink.messages), summaries(parse(input)));
  EXPECT_EQ(parser.stats().messages, 3u);
  EXPECT_EQ(parser.buffered(), 0u);
}

TEST(JsonRpcParser, BatchYieldsEachElement) {
  JsonRpcStreamParser parser;
  auto seen = parse("[" + kToolsCall + ", " + kNotification + ",42]\n", parser);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].message.kind, JsonRpcKind::kRequest);
  EXPECT_EQ(seen[0].message.bytes, kToolsCall.size());
  EXPECT_EQ(seen[0].message.name, "read_file");
  EXPECT_TRUE(seen[0].message.in_batch);
  EXPECT_EQ(seen[1].message.kind, JsonRpcKind::kNotification);
  EXPECT_EQ(seen[2].message.kind, JsonRpcKind::kInvalid);
  EXPECT_EQ(parser.stats().batches, 1u);
  EXPECT_EQ(parser.stats().invalid_messages, 1u);
}

TEST(JsonRpcParser, BatchesAreBounded) {
  std::string batch = "[";
  for (int i = 0; i < 200000; ++i) batch += i ? ",{}" : "{}";
  JsonRpcStreamParser parser;
  auto seen = parse(batch + "]\n", parser);
  EXPECT_EQ(seen.size(), LineLimits{}.max_batch);
  EXPECT_EQ(parser.stats().batch_dropped, 200000 - LineLimits{}.max_batch);
}

TEST(JsonRpcParser, NonMessagesAreCounted) {
  JsonRpcStreamParser parser;
  auto seen = parse("[]\n\"text\"\n12\n\n   \n" + kNotification + "\n", parser);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(parser.stats().not_messages, 3u);
  EXPECT_EQ(parser.stats().lines, 4u);  // blank lines are not lines
}

TEST(JsonRpcParser, BatchWithAnInvalidTailYieldsNothing) {
  JsonRpcStreamParser parser;
  EXPECT_TRUE(parse("[" + kNotification + ",}\n", parser).empty());
  EXPECT_EQ(parser.stats().not_json, 1u);
}

TEST(JsonRpcParser, TenMegabyteLineIsSkippedAndParsingResumes) {
  const std::string huge = R"({"jsonrpc":"2.0","method":"x","params":{"blob":")" + std::string(10 << 20, 'A') + "\"}}";
  for (size_t chunk : {huge.size() + 1, size_t{65536}, size_t{4096 * 1024 - 1}}) {
    const std::string input = kNotification + "\n" + huge + "\n" + kResult + "\n";
    JsonRpcStreamParser parser;
    CollectingSink sink;
    for (size_t offset = 0; offset < input.size(); offset += chunk) {
      parser.feed(std::string_view(input).substr(offset, chunk), sink);
    }
    ASSERT_EQ(sink.messages.size(), 2u) << chunk;
    EXPECT_EQ(sink.messages[1].message.kind, JsonRpcKind::kResponse);
    EXPECT_EQ(parser.stats().oversize_lines, 1u);
    EXPECT_EQ(parser.stats().bytes_skipped, huge.size() + 1);
    EXPECT_EQ(parser.buffered(), 0u);
  }
}

TEST(JsonRpcParser, LineCapIsConfigurable) {
  JsonRpcParserOptions options;
  options.max_line = kNotification.size();
  JsonRpcStreamParser parser(options);
  CollectingSink sink;
  parser.feed(kNotification + "\n" + kNotification + " \n" + kNotification + "\n", sink);
  EXPECT_EQ(sink.messages.size(), 2u);
  EXPECT_EQ(parser.stats().oversize_lines, 1u);
}

TEST(JsonRpcParser, InvalidJsonAndGarbageAreCountedNotFatal) {
  JsonRpcStreamParser parser;
  std::string garbage;
  std::mt19937 rng(7);
  for (int i = 0; i < 100000; ++i) garbage.push_back(static_cast<char>(rng()));
  CollectingSink sink;
  parser.feed("{not json}\n{\"jsonrpc\":\"2.0\",\"method\":\n", sink);
  parser.feed(garbage, sink);
  parser.feed("\n" + kNotification + "\n", sink);
  ASSERT_FALSE(sink.messages.empty());
  EXPECT_EQ(sink.messages.back().message.method, "notifications/initialized");
  EXPECT_GE(parser.stats().not_json, 3u);
  EXPECT_EQ(parser.stats().messages, 1u);
}

TEST(JsonRpcParser, InvalidUtf8IsToleratedAndCounted) {
  JsonRpcStreamParser parser;
  auto seen = parse("{\"jsonrpc\":\"2.0\",\"id\":\"\xff\",\"method\":\"tools/call\",\"params\":{\"name\":\"t\xc3\","
                    "\"arguments\":{\"k\xfe\":\"v\xff\"}}}\n",
                    parser);
  ASSERT_EQ(seen.size(), 1u);
  const JsonRpcMessage& m = seen[0].message;
  EXPECT_TRUE(m.invalid_utf8);
  EXPECT_EQ(parser.stats().invalid_utf8, 1u);
  EXPECT_EQ(m.id, "\"\xef\xbf\xbd\"");
  EXPECT_EQ(m.name, "t\xef\xbf\xbd");
  EXPECT_EQ(m.arguments_shape, "{\"k\xef\xbf\xbd\":\"string\"}");
  EXPECT_EQ(seen[0].values.back().first, "v\xff");  // values are raw: the detectors see the bytes
}

TEST(JsonRpcParser, DeepNestingIsCountedInvalid) {
  JsonRpcStreamParser parser;
  CollectingSink sink;
  parser.feed(std::string(100000, '[') + "\n", sink);
  std::string objects = R"({"jsonrpc":"2.0","method":"x","params":)";
  for (int i = 0; i < 70; ++i) objects += "{\"a\":";
  parser.feed(objects + "1" + std::string(70, '}') + "}\n", sink);
  parser.feed(kNotification + "\n", sink);
  EXPECT_EQ(parser.stats().too_deep, 2u);
  ASSERT_EQ(sink.messages.size(), 1u);
}

TEST(JsonRpcParser, GapInTheMiddleOfALineResynchronisesAtTheNextNewline) {
  JsonRpcStreamParser parser;
  CollectingSink sink;
  parser.feed(kToolsCall.substr(0, 40), sink);
  parser.on_gap(100);
  parser.feed(kToolsCall.substr(140) + "\n", sink);  // the tail of the line: never parsed
  parser.feed(kNotification + "\n", sink);
  ASSERT_EQ(sink.messages.size(), 1u);
  EXPECT_EQ(sink.messages[0].message.kind, JsonRpcKind::kNotification);
  EXPECT_EQ(parser.stats().gaps, 1u);
  EXPECT_EQ(parser.stats().bytes_missing, 100u);
  EXPECT_EQ(parser.stats().partial_lines_dropped, 1u);
  EXPECT_EQ(parser.stats().bytes_skipped, 40u + kToolsCall.size() - 140 + 1);
}

TEST(JsonRpcParser, GapAtALineBoundaryStillSkipsTheNextLine) {
  // The missing bytes may have held a newline: what follows could be any line's tail. Never guessed over.
  JsonRpcStreamParser parser;
  CollectingSink sink;
  parser.feed(kNotification + "\n", sink);
  parser.on_gap(10);
  parser.feed(kNotification + "\n" + kNotification + "\n", sink);
  EXPECT_EQ(sink.messages.size(), 2u);
  EXPECT_EQ(parser.stats().partial_lines_dropped, 0u);
}

TEST(JsonRpcParser, GapOfZeroBytesChangesNothing) {
  JsonRpcStreamParser parser;
  CollectingSink sink;
  parser.feed(kNotification.substr(0, 10), sink);
  parser.on_gap(0);
  parser.feed(kNotification.substr(10) + "\n", sink);
  EXPECT_EQ(sink.messages.size(), 1u);
}

TEST(JsonRpcParser, FinishYieldsACompleteLastLineAndDropsAPartialOne) {
  {
    JsonRpcStreamParser parser;
    CollectingSink sink;
    parser.feed(kNotification, sink);
    EXPECT_TRUE(sink.messages.empty());
    parser.finish(sink);
    EXPECT_EQ(sink.messages.size(), 1u);
    EXPECT_EQ(parser.buffered(), 0u);
  }
  {
    JsonRpcStreamParser parser;
    CollectingSink sink;
    parser.feed(kNotification.substr(0, 20), sink);
    parser.finish(sink);
    EXPECT_TRUE(sink.messages.empty());
    EXPECT_EQ(parser.stats().partial_lines_dropped, 1u);
    EXPECT_EQ(parser.stats().not_json, 0u);
  }
}

TEST(JsonRpcParser, ShapeSortsKeysBoundsDepthAndRedactsCredentialKeys) {
  const std::string key = testing::github_pat();
  auto seen = parse(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{"z":null,)"
                    R"("a":[1,"x",{"k":1},{"k":2}],")" + key + R"(":1,"Bearer )" + key + R"(":2,"deep":{"a":{"b":{"c":{"d":{"e":{"f":1}}}}}}}}})"
                    "\n");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].message.arguments_shape,
            R"({"<redacted>":"number","a":["number","string",{"k":"number"}],)"
            R"("deep":{"a":{"b":{"c":{"d":{"e":"object"}}}}},"z":"null"})");
  EXPECT_TRUE(seen[0].message.arguments_shape_truncated);
}

TEST(JsonRpcParser, ShapeOfManyKeysIsTruncated) {
  std::string arguments = "{";
  for (int i = 0; i < 1000; ++i) arguments += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":1";
  arguments += "}";
  auto seen = parse(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"arguments":)" + arguments + "}}\n");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_TRUE(seen[0].message.arguments_shape_truncated);
  EXPECT_LT(seen[0].message.arguments_shape.size(), 256u * 16);
}

TEST(JsonRpcParser, ScalarAndEmptyArguments) {
  auto seen = parse(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"arguments":"s"}})"
                    "\n"
                    R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"arguments":{}}})"
                    "\n"
                    R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{}})"
                    "\n");
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].message.arguments_shape, R"("string")");
  EXPECT_EQ(seen[1].message.arguments_shape, "{}");
  EXPECT_EQ(seen[2].message.arguments_shape, "");
}

TEST(JsonRpcParser, ValuesAreCappedPerLine) {
  JsonRpcParserOptions options;
  options.line.max_values = 2;
  JsonRpcStreamParser parser(options);
  auto seen = parse(R"({"jsonrpc":"2.0","id":1,"result":{"a":"1","b":"2","c":"3"}})"
                    "\n",
                    parser);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].values.size(), 2u);
  EXPECT_TRUE(seen[0].message.values_truncated);
  EXPECT_EQ(parser.stats().values_truncated, 1u);
}

// A fake token in arguments, results and errors: offered as a value, never in any metadata field.
TEST(JsonRpcParser, ATokenNeverAppearsOutsideValues) {
  const std::string token = testing::github_pat();
  const std::vector<std::string> lines = {
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"create_issue","arguments":{"token":")" +
          token + R"(","nested":{"list":[")" + token + R"("]},"n":1}}})",
      R"({"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"GITHUB_TOKEN=)" + token +
          R"(\n"}],"structuredContent":{"env":")" + token + R"("},"isError":false}})",
      R"({"jsonrpc":"2.0","id":2,"error":{"code":-32000,"message":"bad token )" + token + R"(","data":{"t":")" +
          token + R"("}}})",
      R"({"jsonrpc":"2.0","id":3,"method":"initialize","params":{"clientInfo":{"name":"c","version":"1"},"x":")" +
          token + R"("}})",
      R"([{"jsonrpc":"2.0","method":"notifications/message","params":{"data":")" + token + R"("}}])",
  };
  std::string input;
  for (const std::string& line : lines) input += line + "\n";
  auto seen = parse(input);
  ASSERT_EQ(seen.size(), lines.size());
  size_t offered = 0;
  for (const Seen& s : seen) {
    for (const std::string& text : testing::metadata_texts(s.message)) {
      EXPECT_EQ(text.find(token), std::string::npos) << text;
      EXPECT_EQ(text.find(token.substr(4)), std::string::npos) << text;
    }
    for (const auto& [value, origin] : s.values) offered += value.find(token) != std::string::npos;
  }
  EXPECT_EQ(offered, 8u);
}

// White-box: a value's bytes (in the reassembled line, or decoded into the scratch buffer) are zeroed when the sink
// call returns; both buffers stay allocated (small), so the old views still point into live memory.
TEST(JsonRpcParser, BuffersAreWipedWhenTheSinkReturns) {
  class PointerSink final : public MessageSink {
   public:
    void on_jsonrpc(JsonRpcMessage& message) override {
      for (const JsonRpcValue& value : message.values) spans.push_back(value.text);
    }
    std::vector<std::string_view> spans;
  } sink;
  const std::string token = testing::github_pat();
  const std::string line = R"({"jsonrpc":"2.0","id":1,"result":{"plain":")" + token + R"(","escaped":"\n)" + token +
                           R"("}})" "\n";
  JsonRpcStreamParser parser;
  parser.feed(std::string_view(line).substr(0, 20), sink);  // the line is reassembled in the parser's buffer
  parser.feed(std::string_view(line).substr(20), sink);
  ASSERT_EQ(sink.spans.size(), 2u);
  for (std::string_view span : sink.spans) {
    EXPECT_EQ(std::string(span.data(), span.size()), std::string(span.size(), '\0'));
  }
}

struct DetectCase {
  std::string first_bytes;
  Detection::Verdict verdict;
};

class DetectTest : public ::testing::TestWithParam<DetectCase> {};

TEST_P(DetectTest, DecidesFromTheFirstMember) {
  Detection detection = detect_jsonrpc_stream(GetParam().first_bytes);
  EXPECT_EQ(detection.verdict, GetParam().verdict) << GetParam().first_bytes;
  EXPECT_EQ(detection.parser != nullptr, GetParam().verdict == Detection::Verdict::kParser);
  if (detection.parser) {
    EXPECT_EQ(detection.parser->protocol(), "jsonrpc");
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, DetectTest,
    ::testing::Values(DetectCase{kToolsCall + "\n", Detection::Verdict::kParser},
                      DetectCase{R"({"method":"initialize","params":{"protocolVersion":"2025-06-18")",
                                 Detection::Verdict::kParser},
                      DetectCase{"  [ {\"id\":1", Detection::Verdict::kParser},
                      DetectCase{"{\"a\":{\"jsonrpc\"", Detection::Verdict::kParser},
                      DetectCase{"", Detection::Verdict::kNeedMore}, DetectCase{" \n", Detection::Verdict::kNeedMore},
                      DetectCase{"{", Detection::Verdict::kNeedMore}, DetectCase{"[", Detection::Verdict::kNeedMore},
                      DetectCase{"{\"me", Detection::Verdict::kNeedMore},
                      DetectCase{"{\"a\":1}\n", Detection::Verdict::kUnsupported},
                      DetectCase{"{\"averyverylongname", Detection::Verdict::kUnsupported},
                      DetectCase{"{}", Detection::Verdict::kUnsupported},
                      DetectCase{"GET / HTTP/1.1\r\n", Detection::Verdict::kUnsupported},
                      DetectCase{"Content-Length: 10\r\n", Detection::Verdict::kUnsupported},
                      DetectCase{"\x16\x03\x01", Detection::Verdict::kUnsupported}));

TEST(JsonRpcParser, MidStreamStartSkipsThePartialFirstLine) {
  JsonRpcParserOptions options;
  options.start_mid_stream = true;
  JsonRpcStreamParser parser(options);
  // The capture began inside a line ("yyy…" of a long message): nothing before the first '\n' is parsed.
  auto seen = parse("yyyyyy\"}}\n" + kToolsCall + "\n", parser);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].message.method, "tools/call");
  EXPECT_EQ(parser.stats().unaligned_starts, 1u);
  EXPECT_EQ(parser.stats().not_json, 0u);
}

TEST(JsonRpcParser, MidStreamStartAtALineBoundaryParsesTheFirstLine) {
  JsonRpcParserOptions options;
  options.start_mid_stream = true;
  JsonRpcStreamParser parser(options);
  EXPECT_TRUE(parse("  ", parser).empty());  // whitespace alone decides nothing
  auto seen = parse(kNotification + "\n" + kToolsCall + "\n", parser);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(parser.stats().unaligned_starts, 0u);
}

}  // namespace
}  // namespace credtrace::protocols
