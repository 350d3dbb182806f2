// Tests of the JSON-RPC parser behind the real stream tracker: a stdio session in write calls of any size, truncation.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocols/jsonrpc/call_tracker.h"
#include "protocols/jsonrpc/stream_parser.h"
#include "streams/stream_tracker.h"

namespace credtrace::protocols {
namespace {

using streams::Direction;

constexpr streams::CaptureGeometry kGeometry{.chunk_len = 64, .max_chunks = 4};  // 256 bytes of a call captured

// One MCP server's stdio seen from the server: it reads the client's messages on stdin (kRead) and writes its answers
// on stdout (kWrite), both into one call tracker.
class StdioSession : public ::testing::Test {
 protected:
  using Tracker = streams::StreamTracker<int>;

  class Sink final : public MessageSink {
   public:
    Sink(CallTracker& calls, Side side) : calls_(calls), side_(side) {}
    void on_jsonrpc(JsonRpcMessage& message) override { calls_.on_message(side_, message, 1); }

   private:
    CallTracker& calls_;
    Side side_;
  };

  // One read or write call of the server, captured as the kernel does (chunks, the tail past 256 bytes cut).
  void call(Direction direction, std::string_view bytes) {
    Tracker::Connection& connection = tracker.open(kKey, 1);
    Sink sink(calls, direction == Direction::kRead ? Side::kClient : Side::kServer);
    const uint64_t captured = std::min<uint64_t>(bytes.size(), kGeometry.chunk_len * kGeometry.max_chunks);
    for (uint64_t offset = 0; offset < captured; offset += kGeometry.chunk_len) {
      tracker.accept(connection, direction, {bytes.size(), offset, bytes.substr(offset, kGeometry.chunk_len)}, 1,
                     sink);
    }
  }

  JsonRpcStreamParser* parser(Direction direction) {
    return static_cast<JsonRpcStreamParser*>(tracker.open(kKey, 1).stream(direction).parser());
  }

  static constexpr streams::StreamKey kKey{42, 0};
  std::vector<ToolCall> reported;
  CallTracker calls{CallTrackerLimits{}, [this](const ToolCall& call) { reported.push_back(call); }};
  Tracker tracker{streams::TrackerLimits{16, 3600ull * 1'000'000'000ull, kGeometry},
                  [](Direction, std::string_view first) { return detect_jsonrpc_stream(first); },
                  [this](const streams::StreamKey&, Tracker::Connection& connection, streams::CloseReason) {
                    Sink client(calls, Side::kClient), server(calls, Side::kServer);
                    connection.stream(Direction::kRead).finish(client);
                    connection.stream(Direction::kWrite).finish(server);
                  }};
};

std::string request(int id, const std::string& tool) {
  return R"({"jsonrpc":"2.0","id":)" + std::to_string(id) + R"(,"method":"tools/call","params":{"name":")" + tool +
         R"(","arguments":{"q":"x"}}})" "\n";
}
std::string answer(int id, size_t padding = 0) {
  return R"({"jsonrpc":"2.0","id":)" + std::to_string(id) + R"(,"result":{"content":[{"type":"text","text":")" +
         std::string(padding, 'p') + R"("}]}})" "\n";
}

TEST_F(StdioSession, MessagesInWritesOfAnySizeArePaired) {
  const std::string both = request(1, "a") + request(2, "b");
  call(Direction::kRead, both);  // two messages in one read
  const std::string third = request(3, "c");
  call(Direction::kRead, third.substr(0, 10));  // one message over three reads
  call(Direction::kRead, third.substr(10, 30));
  call(Direction::kRead, third.substr(40));
  call(Direction::kWrite, answer(2) + answer(1));
  call(Direction::kWrite, answer(3));
  ASSERT_EQ(reported.size(), 3u);
  EXPECT_EQ(reported[0].name, "b");
  EXPECT_EQ(reported[1].name, "a");
  EXPECT_EQ(reported[2].name, "c");
  ASSERT_NE(parser(Direction::kRead), nullptr);
  EXPECT_EQ(parser(Direction::kRead)->protocol(), "jsonrpc");
}

// A write longer than what is captured loses its tail, '\n' included: that message is dropped, and so is the next
// line, which the parser cannot tell from the tail's continuation (never guessed over). The one after is parsed.
TEST_F(StdioSession, ATruncatedWriteCostsItsLineAndTheNext) {
  for (int id = 1; id <= 3; ++id) call(Direction::kRead, request(id, "t" + std::to_string(id)));
  call(Direction::kWrite, answer(1));
  call(Direction::kWrite, answer(2, 1000));  // truncated
  call(Direction::kWrite, answer(3));        // lost with it
  call(Direction::kWrite, answer(1));        // a line parsed again (an answer to nothing now)
  ASSERT_EQ(reported.size(), 1u);
  EXPECT_EQ(reported[0].name, "t1");
  const JsonRpcStreamParser* answers = parser(Direction::kWrite);
  ASSERT_NE(answers, nullptr);
  EXPECT_EQ(answers->stats().gaps, 1u);
  EXPECT_EQ(answers->stats().messages, 2u);
  EXPECT_EQ(calls.stats().unmatched_responses, 1u);
  EXPECT_EQ(calls.pending(), 2u);
  tracker.close(kKey, streams::CloseReason::kProcessExit);
  calls.end_session(2);
  ASSERT_EQ(reported.size(), 3u);
  EXPECT_EQ(reported[1].no_answer, NoAnswerReason::kSessionEnd);
}

TEST_F(StdioSession, AStreamThatIsNotJsonRpcIsNotParsed) {
  call(Direction::kRead, "hello world\n");
  EXPECT_EQ(parser(Direction::kRead), nullptr);
  EXPECT_TRUE(tracker.open(kKey, 1).stream(Direction::kRead).decided());
}

}  // namespace
}  // namespace credtrace::protocols
