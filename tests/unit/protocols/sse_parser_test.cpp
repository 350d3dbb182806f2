// Tests of the server-sent events parser: WHATWG framing, line ends, splits, bounds, gaps, and streamed HTTP bodies.
#include "protocols/sse/sse_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocols/http1/response_parser.h"

namespace credtrace::protocols {
namespace {

struct Seen {
  std::string type, id, data;
  bool truncated = false;
  bool operator==(const Seen&) const = default;
};

class Collect final : public MessageSink {
 public:
  void on_sse_event(SseEvent& event) override { events.push_back({event.type, event.id, event.data, event.data_truncated}); }
  std::vector<Seen> events;
};

std::vector<Seen> parse(std::string_view bytes, SseLimits limits = {}) {
  SseParser parser(limits);
  Collect sink;
  parser.feed(bytes, sink);
  parser.finish(sink);
  return sink.events;
}

TEST(SseParser, DataLinesJoinedAndFieldsRead) {
  auto events = parse("event: message\nid: 7\ndata: {\"a\":1,\ndata:  \"b\":2}\n\n: keep-alive\n\ndata\n\n");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0], (Seen{"message", "7", "{\"a\":1,\n \"b\":2}", false}));
  EXPECT_EQ(events[1], (Seen{"message", "7", "", false}));  // "data" without colon: an empty line of data; id persists
}

TEST(SseParser, EveryLineEndAndTheBom) {
  auto events = parse("\xEF\xBB\xBF" "data: a\r\rdata: b\r\n\r\nevent: endpoint\ndata: /messages?x=1\n\n");
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].data, "a");
  EXPECT_EQ(events[1].data, "b");
  EXPECT_EQ(events[2].type, "endpoint");
  EXPECT_EQ(events[2].data, "/messages?x=1");
}

TEST(SseParser, BlankLineWithoutDataDispatchesNothingAndResetsType) {
  SseParser parser;
  Collect sink;
  parser.feed("event: ping\n\ndata: x\n\n", sink);
  ASSERT_EQ(sink.events.size(), 1u);
  EXPECT_EQ(sink.events[0].type, "message");
  EXPECT_EQ(parser.stats().empty_events, 1u);
}

TEST(SseParser, IdWithNulIsIgnoredAndUnknownFieldsCounted) {
  SseParser parser;
  Collect sink;
  parser.feed(std::string("id: 1\ndata: a\n\nid: 2") + '\0' + "x\nretry: 10\nfoo: bar\ndata: b\n\n", sink);
  ASSERT_EQ(sink.events.size(), 2u);
  EXPECT_EQ(sink.events[1].id, "1");
  EXPECT_EQ(parser.stats().unknown_fields, 1u);
}

TEST(SseParser, AnySplitYieldsTheSameEvents) {
  const std::string input = "event: message\r\nid: 3\r\ndata: {\"jsonrpc\":\"2.0\"}\r\n\r\n:c\rdata: x\r\rdata: y\n\n";
  const auto whole = parse(input);
  ASSERT_EQ(whole.size(), 3u);
  for (size_t cut = 0; cut <= input.size(); ++cut) {
    SseParser parser;
    Collect sink;
    parser.feed(std::string_view(input).substr(0, cut), sink);
    parser.feed(std::string_view(input).substr(cut), sink);
    EXPECT_EQ(sink.events, whole) << "split at " << cut;
  }
  SseParser bytewise;
  Collect sink;
  for (char c : input) bytewise.feed(std::string_view(&c, 1), sink);
  EXPECT_EQ(sink.events, whole);
}

TEST(SseParser, LongDataIsCutAndCounted) {
  SseLimits limits;
  limits.max_line = 16;
  limits.max_data = 20;
  limits.max_field = 4;
  SseParser parser(limits);
  Collect sink;
  parser.feed("event: abcdefgh\ndata: 0123456789abcdefghij\ndata: 0123456789\n\ndata: ok\n\n", sink);
  ASSERT_EQ(sink.events.size(), 2u);
  EXPECT_TRUE(sink.events[0].truncated);
  EXPECT_LE(sink.events[0].data.size(), 20u);
  EXPECT_EQ(sink.events[0].type, "abcd");
  EXPECT_EQ(sink.events[1], (Seen{"message", "", "ok", false}));
  EXPECT_EQ(parser.stats().lines_cut, 1u);
  EXPECT_EQ(parser.stats().events_truncated, 1u);
  EXPECT_EQ(parser.stats().fields_cut, 1u);
}

TEST(SseParser, GapDropsThePartialEventAndResumesAfterABlankLine) {
  SseParser parser;
  Collect sink;
  parser.feed("data: first\n\ndata: par", sink);
  parser.on_gap(100);
  parser.feed("tial\ndata: more\n\ndata: next\n\n", sink);
  ASSERT_EQ(sink.events.size(), 2u);
  EXPECT_EQ(sink.events[1].data, "next");
  EXPECT_EQ(parser.stats().partial_events_dropped, 1u);
  EXPECT_EQ(parser.stats().gaps, 1u);
}

TEST(SseParser, FinishDropsAnUnterminatedEvent) {
  SseParser parser;
  Collect sink;
  parser.feed("data: done\n\ndata: never ended\n", sink);
  parser.finish(sink);
  EXPECT_EQ(sink.events.size(), 1u);
  EXPECT_EQ(parser.stats().partial_events_dropped, 1u);
}

// A text/event-stream response streamed through the HTTP/1.1 response parser: each event as soon as its blank line
// arrives, long before the (chunked) body ends.
class StreamedBody final : public MessageSink {
 public:
  bool on_response_head(const HttpResponse& head) override {
    ++heads;
    status = head.status;
    return true;
  }
  void on_response_body(std::string_view bytes, bool end, bool cut) override {
    if (!bytes.empty()) sse.feed(bytes, events);
    if (end) {
      ++ends;
      cuts += cut ? 1 : 0;
    }
  }
  void on_response(HttpResponse&) override { ++responses; }
  SseParser sse;
  Collect events;
  int heads = 0, ends = 0, cuts = 0, responses = 0, status = 0;
};

TEST(SseParser, EventsOfAStreamedResponseArriveBeforeItsEnd) {
  Http1ResponseParser parser;
  StreamedBody sink;
  parser.request_sent("POST");
  parser.feed("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n", sink);
  parser.feed("e\r\ndata: {\"a\":1}\n\r\n", sink);
  EXPECT_TRUE(sink.events.events.empty());
  parser.feed("1\r\n\n\r\n", sink);
  ASSERT_EQ(sink.events.events.size(), 1u);
  EXPECT_EQ(sink.events.events[0].data, "{\"a\":1}");
  EXPECT_EQ(sink.ends, 0);
  parser.feed("0\r\n\r\n", sink);
  EXPECT_EQ(sink.ends, 1);
  EXPECT_EQ(sink.cuts, 0);
  EXPECT_EQ(sink.responses, 1);
}

TEST(SseParser, BodylessResponsesEndAtOnceAndGapsCutStreams) {
  Http1ResponseParser parser;
  StreamedBody sink;
  parser.request_sent("POST");
  parser.request_sent("GET");
  parser.feed("HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n", sink);
  EXPECT_EQ(sink.heads, 1);
  EXPECT_EQ(sink.ends, 1);
  parser.feed("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\ndata: x\n\n", sink);
  EXPECT_EQ(sink.events.events.size(), 1u);
  parser.on_gap(10);
  parser.feed("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n", sink);
  EXPECT_EQ(sink.cuts, 1);
  EXPECT_EQ(sink.ends, 3);
}

}  // namespace
}  // namespace credtrace::protocols
