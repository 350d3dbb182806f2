// Fuzz target for credtrace_protocols: the server-sent events parser (split-invariance, bounds, gaps) and the HTTP/1.1
// response parser streaming an event-stream body into it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_common.h"
#include "protocols/http1/response_parser.h"
#include "protocols/sse/sse_parser.h"

namespace {

using credtrace::fuzz::check;
using namespace credtrace::protocols;

class Recorder final : public MessageSink {
 public:
  explicit Recorder(const SseLimits& limits) : limits_(limits) {}
  void on_sse_event(SseEvent& event) override {
    check(event.data.size() <= limits_.max_data, "data over its bound");
    check((event.type == "message" || event.type.size() <= limits_.max_field) && event.id.size() <= limits_.max_field,
          "field over its bound");
    check(!event.type.empty(), "event without a type");
    summaries.push_back(event.type + "|" + event.id + "|" + event.data + "|" + (event.data_truncated ? "t" : "f"));
  }
  std::vector<std::string> summaries;

 private:
  SseLimits limits_;
};

// Streams every response body into an SSE parser, as MCP answers are followed.
class BodyToSse final : public MessageSink {
 public:
  bool on_response_head(const HttpResponse&) override {
    check(!open_, "a head while a body is open");
    open_ = true;
    return true;
  }
  void on_response_body(std::string_view bytes, bool end, bool) override {
    check(open_, "body without a head");
    if (!bytes.empty()) sse_.feed(bytes, events_);
    if (end) {
      sse_.finish(events_);
      open_ = false;
    }
  }

 private:
  bool open_ = false;
  SseParser sse_;
  Recorder events_{SseLimits{}};
};

SseLimits limits_for(uint8_t mode) {
  SseLimits limits;
  limits.max_line = 1 + (mode & 0x3f) * 4;
  limits.max_data = 1 + (mode >> 2) * 3;
  limits.max_field = 1 + mode % 17;
  return limits;
}

}  // namespace

// First byte: limits and the split stride; the rest is the stream.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const SseLimits limits = limits_for(mode);

  Recorder whole(limits);
  SseParser whole_parser(limits);
  whole_parser.feed(input, whole);
  whole_parser.finish(whole);
  check(whole_parser.buffered() == 0, "bytes held after finish");

  Recorder split(limits);
  SseParser split_parser(limits);
  const size_t stride = 1 + mode % 13;
  for (size_t offset = 0; offset < input.size(); offset += stride) split_parser.feed(input.substr(offset, stride), split);
  split_parser.finish(split);
  check(whole.summaries == split.summaries, "splitting the input changed the events");
  check(whole_parser.stats().events == split_parser.stats().events, "splitting changed the event count");
  check(whole_parser.stats().lines_cut == split_parser.stats().lines_cut, "splitting changed the lines cut");

  Recorder gapped(limits);
  SseParser gapped_parser(limits);
  for (size_t offset = 0; offset < input.size(); offset += 2 * stride) {
    gapped_parser.feed(input.substr(offset, stride), gapped);
    gapped_parser.on_gap(stride);
  }
  gapped_parser.finish(gapped);
  check(gapped_parser.buffered() == 0, "bytes held after finish with gaps");

  Http1ResponseParser http;
  BodyToSse body;
  for (int i = 0; i < 4; ++i) http.request_sent("POST");
  for (size_t offset = 0; offset < input.size(); offset += stride) http.feed(input.substr(offset, stride), body);
  http.finish(body);
  return 0;
}
