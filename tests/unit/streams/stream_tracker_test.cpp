// Tests of the stream tracker: chunk order, holes, truncation, detection, lifetime (close, exit, idle) and the bound.
#include "streams/stream_tracker.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace credtrace::streams {
namespace {

constexpr CaptureGeometry kGeometry{.chunk_len = 4, .max_chunks = 3};  // 12 bytes of a call are captured
constexpr uint64_t kSecond = 1'000'000'000ull;

// What a parser saw, in order: "feed:<bytes>", "gap:<n>", "finish".
using Log = std::vector<std::string>;

class RecordingParser final : public protocols::StreamParser {
 public:
  explicit RecordingParser(Log& log, bool give_up_on_gap = false) : log_(log), give_up_on_gap_(give_up_on_gap) {}
  std::string_view protocol() const override { return "test"; }
  void feed(std::string_view bytes, protocols::MessageSink&) override { log_.push_back("feed:" + std::string(bytes)); }
  void on_gap(uint64_t missing) override {
    log_.push_back("gap:" + std::to_string(missing));
    if (give_up_on_gap_) given_up_ = true;
  }
  void finish(protocols::MessageSink&) override { log_.push_back("finish"); }
  bool given_up() const override { return given_up_; }

 private:
  Log& log_;
  bool give_up_on_gap_;
  bool given_up_ = false;
};

struct Context {
  int id = 0;
};
using Tracker = StreamTracker<Context>;

struct Closed {
  StreamKey key;
  CloseReason reason;
};

class StreamTrackerTest : public ::testing::Test {
 protected:
  // Detection: "ok…" gets a recording parser, "o" needs more, anything else is not parsed.
  Tracker make(size_t max_connections = 8, uint64_t idle_ns = 60 * kSecond, CaptureGeometry geometry = kGeometry) {
    auto detect = [this](Direction, std::string_view first) {
      protocols::Detection detection;
      if (first.starts_with("ok")) {
        detection.verdict = protocols::Detection::Verdict::kParser;
        detection.parser = std::make_unique<RecordingParser>(log, give_up_on_gap);
      } else if (first == "o") {
        detection.verdict = protocols::Detection::Verdict::kNeedMore;
      }
      return detection;
    };
    auto on_close = [this](const StreamKey& key, Tracker::Connection&, CloseReason reason) {
      closed.push_back({key, reason});
    };
    return Tracker(TrackerLimits{max_connections, idle_ns, geometry}, detect, on_close);
  }

  // A whole call as the kernel captures it: chunks of 4 bytes, at most 3 of them.
  std::vector<Chunk> call(std::string_view bytes, uint64_t call_len = 0) {
    std::vector<Chunk> chunks;
    if (call_len == 0) call_len = bytes.size();
    for (uint64_t offset = 0; offset < bytes.size() && offset < 12; offset += 4)
      chunks.push_back({call_len, offset, bytes.substr(offset, 4)});
    return chunks;
  }

  std::vector<Accepted> accept_all(Tracker& tracker, Tracker::Connection& connection, const std::vector<Chunk>& chunks,
                                   uint64_t now_ns = kSecond) {
    std::vector<Accepted> accepted;
    for (const Chunk& chunk : chunks) accepted.push_back(tracker.accept(connection, Direction::kWrite, chunk, now_ns, sink));
    return accepted;
  }

  Log log;
  bool give_up_on_gap = false;
  std::vector<Closed> closed;
  protocols::MessageSink sink;
  const StreamKey key{42, 0x1000};
};

TEST_F(StreamTrackerTest, ChunksOfACallInOrderReachTheParserWhole) {
  Tracker tracker = make();
  auto& connection = tracker.open(key, kSecond);
  accept_all(tracker, connection, call("ok: hello!"));
  accept_all(tracker, connection, call("next"));
  EXPECT_EQ(log, (Log{"feed:ok: ", "feed:hell", "feed:o!", "feed:next"}));
  EXPECT_EQ(tracker.counters(Direction::kWrite).gaps, 0u);
  EXPECT_EQ(tracker.counters(Direction::kWrite).chunks, 4u);
  EXPECT_EQ(tracker.counters(Direction::kWrite).bytes, 14u);
  EXPECT_EQ(tracker.counters(Direction::kWrite).detected, 1u);
}

TEST_F(StreamTrackerTest, HolesAreReportedNeverGuessedOver) {
  struct Case {
    const char* name;
    std::vector<size_t> chunks;  // which chunks of "ok: hello!!!" (12 bytes, 3 chunks) arrive, in order
    Log expected;
  };
  const std::vector<Case> cases = {
      {"middle chunk dropped", {0, 2}, {"feed:ok: ", "gap:4", "feed:o!!!"}},
      {"last chunk dropped, next call starts", {0, 1, 3}, {"feed:ok: ", "feed:hell", "gap:1", "feed:ok: "}},
      {"out of order", {0, 2, 1}, {"feed:ok: ", "gap:4", "feed:o!!!", "gap:4", "feed:hell"}},
  };
  for (const Case& c : cases) {
    log.clear();
    Tracker tracker = make();
    auto& connection = tracker.open(key, kSecond);
    std::vector<Chunk> chunks = call("ok: hello!!!");
    chunks.push_back({12, 0, "ok: "});  // index 3: the first chunk of the next call
    for (size_t i : c.chunks) tracker.accept(connection, Direction::kWrite, chunks[i], kSecond, sink);
    EXPECT_EQ(log, c.expected) << c.name;
  }
}

TEST_F(StreamTrackerTest, TruncatedCallReportsItsUncapturedTailAsAGap) {
  Tracker tracker = make();
  auto& connection = tracker.open(key, kSecond);
  auto accepted = accept_all(tracker, connection, call("ok: 12345678", 20));  // 8 of 20 bytes never captured
  EXPECT_EQ(log, (Log{"feed:ok: ", "feed:1234", "feed:5678", "gap:8"}));
  EXPECT_TRUE(accepted.back().holes.truncated);
  EXPECT_EQ(tracker.counters(Direction::kWrite).truncated_calls, 1u);
  EXPECT_EQ(tracker.counters(Direction::kWrite).bytes_missing, 8u);
  accept_all(tracker, connection, call("more"));  // the next call starts cleanly
  EXPECT_EQ(log.back(), "feed:more");
}

TEST_F(StreamTrackerTest, TruncatedCallWithItsTailKeptHasTheHoleInTheMiddle) {
  Tracker tracker = make(8, 60 * kSecond, CaptureGeometry{.chunk_len = 4, .max_chunks = 3, .keeps_tail = true});
  auto& connection = tracker.open(key, kSecond);
  // A 20-byte call: its first two chunks and its last 4 bytes are captured (as the kernel's tail capture sends them).
  tracker.accept(connection, Direction::kWrite, {20, 0, "ok: "}, kSecond, sink);
  tracker.accept(connection, Direction::kWrite, {20, 4, "1234"}, kSecond, sink);
  auto tail = tracker.accept(connection, Direction::kWrite, {20, 16, "end\n"}, kSecond, sink);
  EXPECT_EQ(log, (Log{"feed:ok: ", "feed:1234", "gap:8", "feed:end\n"}));
  EXPECT_EQ(tracker.counters(Direction::kWrite).truncated_calls, 1u);
  EXPECT_EQ(tracker.counters(Direction::kWrite).bytes_missing, 8u);
  EXPECT_EQ(tail.holes.before, 0u);
  accept_all(tracker, connection, call("next"));  // the next call starts cleanly
  EXPECT_EQ(log.back(), "feed:next");
  // A call that fits is captured whole, tail or not.
  accept_all(tracker, connection, call("twelve bytes"));
  EXPECT_EQ(log.back(), "feed:ytes");
  EXPECT_EQ(tracker.counters(Direction::kWrite).truncated_calls, 1u);
}

TEST_F(StreamTrackerTest, ShortCopyOfAChunkIsAGapAfterIt) {
  Tracker tracker = make();
  auto& connection = tracker.open(key, kSecond);
  tracker.accept(connection, Direction::kWrite, {8, 0, "ok"}, kSecond, sink);  // 2 of the first 4 bytes copied
  tracker.accept(connection, Direction::kWrite, {8, 4, "abcd"}, kSecond, sink);
  EXPECT_EQ(log, (Log{"feed:ok", "gap:2", "feed:abcd"}));
}

TEST_F(StreamTrackerTest, DetectionStartsOnlyAtACallAndHoldsWhatItNeedsMoreOf) {
  Tracker tracker = make();
  auto& connection = tracker.open(key, kSecond);
  tracker.accept(connection, Direction::kWrite, {8, 4, "ok!!"}, kSecond, sink);  // mid-call: never detected from
  EXPECT_FALSE(connection.stream(Direction::kWrite).decided());
  auto first = tracker.accept(connection, Direction::kWrite, {1, 0, "o"}, kSecond, sink);
  EXPECT_FALSE(first.decided);  // held
  auto second = tracker.accept(connection, Direction::kWrite, {3, 0, "k:1"}, kSecond, sink);
  EXPECT_TRUE(second.decided);
  EXPECT_EQ(log, (Log{"feed:ok:1"}));  // the held byte and the next call, in order
}

TEST_F(StreamTrackerTest, AHoleDropsHeldBytesAndUnsupportedIsDecidedOnce) {
  Tracker tracker = make();
  auto& connection = tracker.open(key, kSecond);
  tracker.accept(connection, Direction::kWrite, {1, 0, "o"}, kSecond, sink);
  tracker.accept(connection, Direction::kWrite, {8, 4, "k..."}, kSecond, sink);  // a hole: "o" is not continued
  EXPECT_TRUE(log.empty());
  auto accepted = tracker.accept(connection, Direction::kWrite, {4, 0, "TLS!"}, kSecond, sink);
  EXPECT_TRUE(accepted.decided);
  EXPECT_EQ(connection.stream(Direction::kWrite).parser(), nullptr);
  EXPECT_EQ(tracker.counters(Direction::kWrite).unsupported, 1u);
  EXPECT_FALSE(tracker.accept(connection, Direction::kWrite, {4, 0, "ok.."}, kSecond, sink).decided);
  EXPECT_TRUE(log.empty());
}

TEST_F(StreamTrackerTest, AParserThatGivesUpIsCountedOnce) {
  give_up_on_gap = true;
  Tracker tracker = make();
  auto& connection = tracker.open(key, kSecond);
  accept_all(tracker, connection, call("ok"));
  EXPECT_TRUE(tracker.accept(connection, Direction::kWrite, {8, 4, "1234"}, kSecond, sink).gave_up);
  EXPECT_FALSE(tracker.accept(connection, Direction::kWrite, {8, 4, "1234"}, kSecond, sink).gave_up);
  EXPECT_EQ(tracker.counters(Direction::kWrite).given_up, 1u);
}

TEST_F(StreamTrackerTest, SetParserChoosesTheOtherDirectionsParser) {
  Tracker tracker = make();
  auto& connection = tracker.open(key, kSecond);
  connection.stream(Direction::kRead).set_parser(std::make_unique<RecordingParser>(log));
  tracker.accept(connection, Direction::kRead, {4, 0, "resp"}, kSecond, sink);
  connection.stream(Direction::kRead).finish(sink);
  EXPECT_EQ(log, (Log{"feed:resp", "finish"}));
  EXPECT_EQ(tracker.counters(Direction::kRead).chunks, 1u);
  EXPECT_EQ(tracker.counters(Direction::kRead).detected, 0u);
}

TEST_F(StreamTrackerTest, CloseAndProcessExitCallOnCloseWithTheReason) {
  Tracker tracker = make();
  tracker.open(key, kSecond).context.id = 1;
  tracker.open({42, 0x2000}, kSecond);
  tracker.open({43, 0x1000}, kSecond);
  EXPECT_TRUE(tracker.close(key, CloseReason::kClosed));
  EXPECT_FALSE(tracker.close(key, CloseReason::kClosed));
  EXPECT_EQ(tracker.close_process(42), 1u);
  ASSERT_EQ(closed.size(), 2u);
  EXPECT_EQ(closed[0].reason, CloseReason::kClosed);
  EXPECT_EQ(closed[1].reason, CloseReason::kProcessExit);
  EXPECT_EQ(closed[1].key.connection, 0x2000u);
  EXPECT_EQ(tracker.size(), 1u);
  EXPECT_EQ(tracker.stats().closed, 2u);
}

TEST_F(StreamTrackerTest, IdleConnectionsExpireSeenOnesStay) {
  Tracker tracker = make(8, 10 * kSecond);
  tracker.open(key, 1 * kSecond);
  auto& busy = tracker.open({42, 0x2000}, 1 * kSecond);
  tracker.accept(busy, Direction::kWrite, {2, 0, "ok"}, 8 * kSecond, sink);
  EXPECT_EQ(tracker.expire_idle(10 * kSecond), 0u);
  EXPECT_EQ(tracker.expire_idle(11 * kSecond), 1u);
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].key, key);
  EXPECT_EQ(closed[0].reason, CloseReason::kIdle);
  EXPECT_EQ(tracker.expire_idle(UINT64_MAX), 1u);
  EXPECT_EQ(tracker.size(), 0u);
  EXPECT_EQ(tracker.stats().expired, 2u);
}

TEST_F(StreamTrackerTest, AtTheBoundTheLeastRecentlySeenIsEvicted) {
  Tracker tracker = make(2);
  tracker.open({1, 1}, 1 * kSecond);
  tracker.open({2, 2}, 2 * kSecond);
  tracker.open({1, 1}, 3 * kSecond);  // seen again: {2, 2} is now the least recently seen
  tracker.open({3, 3}, 4 * kSecond);
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].key, (StreamKey{2, 2}));
  EXPECT_EQ(closed[0].reason, CloseReason::kEvicted);
  EXPECT_EQ(tracker.size(), 2u);
  EXPECT_NE(tracker.find({1, 1}), nullptr);
  EXPECT_EQ(tracker.stats().evicted, 1u);
  EXPECT_EQ(tracker.stats().opened, 3u);
}

}  // namespace
}  // namespace credtrace::streams
