// Tests for MCP initialize detection: full, truncated, Content-Length framed, and non-initialize input.
#include "mcp/jsonrpc_initialize.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace credtrace::mcp {
namespace {

// What the TypeScript SDK's StdioClientTransport writes (JSON.stringify order: method, params, jsonrpc, id).
const std::string kSdkInitialize =
    R"({"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{"sampling":{},"elicitation":{},)"
    R"("roots":{"listChanged":true}},"clientInfo":{"name":"claude-ai","version":"0.1.0"}},"jsonrpc":"2.0","id":0})"
    "\n";

const std::string kPythonInitialize =
    R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},)"
    R"("clientInfo":{"name":"mcp","version":"1.9.4"}}})"
    "\n";

TEST(ParseInitialize, FullSdkMessage) {
  auto r = parse_initialize(kSdkInitialize);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->protocol_version, "2025-06-18");
  EXPECT_EQ(r->client_name, "claude-ai");
  EXPECT_EQ(r->client_version, "0.1.0");
}

TEST(ParseInitialize, FullPythonMessageFollowedByMore) {
  auto r = parse_initialize(kPythonInitialize + R"({"jsonrpc":"2.0","method":"notifications/initialized"})" + "\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->protocol_version, "2025-03-26");
  EXPECT_EQ(r->client_name, "mcp");
}

TEST(ParseInitialize, StringIdAndMissingParams) {
  auto r = parse_initialize(R"({"jsonrpc":"2.0","id":"abc","method":"initialize"})");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->protocol_version, "");
  EXPECT_EQ(r->client_name, "");
}

TEST(ParseInitialize, TruncatedAfterHeaderFields) {
  // Cut in the middle of capabilities: jsonrpc/id/method/protocolVersion were complete.
  std::string cut = kPythonInitialize.substr(0, kPythonInitialize.find("capabilities") + 16);
  auto r = parse_initialize(cut);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->protocol_version, "2025-03-26");
  EXPECT_EQ(r->client_name, "");
}

TEST(ParseInitialize, TruncatedInsideClientInfo) {
  std::string cut = kPythonInitialize.substr(0, kPythonInitialize.find("1.9"));
  auto r = parse_initialize(cut);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->client_name, "mcp");
  EXPECT_EQ(r->client_version, "");  // incomplete value not reported
}

TEST(ParseInitialize, TruncatedBeforeJsonrpcMemberIsRejected) {
  // SDK order puts "jsonrpc" last: a cut inside params has no proof it is JSON-RPC 2.0.
  std::string cut = kSdkInitialize.substr(0, 80);
  EXPECT_FALSE(parse_initialize(cut).has_value());
}

TEST(ParseInitialize, TruncatedAtEveryByteNeverCrashes) {
  for (size_t n = 0; n <= kPythonInitialize.size(); ++n) {
    auto r = parse_initialize(std::string_view(kPythonInitialize).substr(0, n));
    const size_t needed = kPythonInitialize.find(R"("method":"initialize")") + 21;
    EXPECT_EQ(r.has_value(), n >= needed) << n;
  }
}

TEST(ParseInitialize, ContentLengthFramed) {
  std::string body = R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2024-11-05",)"
                     R"("clientInfo":{"name":"old-client","version":"2"}}})";
  auto r = parse_initialize("Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body +
                            "Content-Length: 10\r\n\r\n{\"x\":1}");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->protocol_version, "2024-11-05");
  EXPECT_EQ(r->client_name, "old-client");
}

TEST(ParseInitialize, ContentLengthFramedTruncated) {
  std::string body = R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2024-11-05","capab)";
  auto r = parse_initialize("content-length: 400\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n" + body);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->protocol_version, "2024-11-05");
}

TEST(ParseInitialize, ContentLengthHeadersIncompleteOrBad) {
  EXPECT_FALSE(parse_initialize("Content-Length: 12").has_value());
  EXPECT_FALSE(parse_initialize("Content-Length: 1x\r\n\r\n{}").has_value());
  EXPECT_FALSE(parse_initialize("Content-Type: text/plain\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\"}").has_value());
}

TEST(ParseInitialize, OtherMethodsResponsesAndNotifications) {
  EXPECT_FALSE(parse_initialize(R"({"jsonrpc":"2.0","id":2,"method":"tools/list"})").has_value());
  EXPECT_FALSE(parse_initialize(R"({"jsonrpc":"2.0","method":"initialize","params":{}})").has_value());  // no id
  EXPECT_FALSE(parse_initialize(R"({"jsonrpc":"2.0","id":null,"method":"initialize"})").has_value());
  EXPECT_FALSE(parse_initialize(R"({"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-06-18"}})").has_value());
  EXPECT_FALSE(parse_initialize(R"({"jsonrpc":"1.0","id":0,"method":"initialize"})").has_value());
  EXPECT_FALSE(parse_initialize(R"({"id":0,"method":"initialize"})").has_value());
  EXPECT_FALSE(parse_initialize(R"([{"jsonrpc":"2.0","id":0,"method":"initialize"}])").has_value());
}

TEST(ParseInitialize, TruncatedNonRequestsRejected) {
  // Nested "method":"initialize" is not a top-level member.
  EXPECT_FALSE(parse_initialize(R"({"jsonrpc":"2.0","params":{"method":"initialize","x":"abc)").has_value());
  // A response cut short that happens to mention initialize.
  EXPECT_FALSE(parse_initialize(R"({"jsonrpc":"2.0","id":0,"method":"initialize","result":{"a":"b)").has_value());
  EXPECT_FALSE(parse_initialize(R"({"jsonrpc":"2.0","method":"initialize","id":null,"params":{"a)").has_value());
}

// Deterministic byte mutations: never a crash; any reported field is text that was in the input.
TEST(ParseInitialize, MutatedInputsAreSafe) {
  uint32_t state = 987654321;
  auto next = [&] { return state = state * 1664525u + 1013904223u; };
  size_t accepted = 0;
  for (int round = 0; round < 5000; ++round) {
    std::string text = kSdkInitialize.substr(0, next() % (kSdkInitialize.size() + 1));
    for (int flips = next() % 3; flips > 0 && !text.empty(); --flips) text[next() % text.size()] = static_cast<char>(next() >> 24);
    auto r = parse_initialize(text);
    if (!r) continue;
    ++accepted;
    EXPECT_NE(text.find(r->client_name), std::string::npos);
    EXPECT_NE(text.find(r->protocol_version), std::string::npos);
  }
  EXPECT_GT(accepted, 0u);
}

TEST(ParseInitialize, Garbage) {
  EXPECT_FALSE(parse_initialize("").has_value());
  EXPECT_FALSE(parse_initialize("\n\n  ").has_value());
  EXPECT_FALSE(parse_initialize("GET / HTTP/1.1\r\nHost: x\r\n\r\n").has_value());
  EXPECT_FALSE(parse_initialize(std::string("\x00\x01\x02\xff\xfe", 5)).has_value());
  // Looks right at the start, then breaks JSON grammar before the cut: not a truncation.
  EXPECT_FALSE(parse_initialize(R"({"jsonrpc":"2.0","method":"initialize","id":1 oops "params":{"a)").has_value());
  // Complete but malformed (trailing garbage on the line).
  EXPECT_FALSE(parse_initialize(R"({"jsonrpc":"2.0","id":1,"method":"initialize"} trailing)").has_value());
  EXPECT_FALSE(parse_initialize(R"("jsonrpc":"2.0","id":1,"method":"initialize")").has_value());
  EXPECT_FALSE(parse_initialize(std::string(5000, '{')).has_value());
}

}  // namespace
}  // namespace credtrace::mcp
