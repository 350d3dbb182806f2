// Fuzz target for credtrace_streams: chunk sequences with holes, truncation, reads and closes through the stream
// tracker into the real HTTP parsers (detection, gaps, response pairing, finish).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "fuzz_common.h"
#include "protocols/http1/request_parser.h"
#include "protocols/http1/response_parser.h"
#include "streams/stream_tracker.h"

namespace {

using credtrace::fuzz::check;
using namespace credtrace;

constexpr streams::CaptureGeometry kGeometry{64, 3};

class CheckingSink final : public protocols::MessageSink {
 public:
  explicit CheckingSink(streams::Stream* reads) : reads_(reads) {}
  void on_request(protocols::HttpRequest& request, std::string_view) override {
    check(!request.method.empty(), "request without a method");
    if (reads_ && !reads_->parser()) reads_->set_parser(std::make_unique<protocols::Http1ResponseParser>());
    if (reads_) reads_->parser()->on_peer_request(request.method);
  }
  void on_response(protocols::HttpResponse& response) override {
    check(response.status >= 100 && response.status <= 999, "status out of range");
  }

 private:
  streams::Stream* reads_;
};

}  // namespace

// Each record: op (bit 0: read, bit 1: hole before, bit 2: short copy, bit 3: truncated call, bits 4-5: connection,
// bit 6: close after), a length byte, then that many bytes.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using Tracker = streams::StreamTracker<int>;
  Tracker tracker(streams::TrackerLimits{2, 1000, kGeometry},
                  [](streams::Direction direction, std::string_view first) {
                    if (direction != streams::Direction::kWrite) return protocols::Detection{};
                    return protocols::detect_client_protocol(first);
                  },
                  [](const streams::StreamKey&, Tracker::Connection& connection, streams::CloseReason) {
                    CheckingSink sink(nullptr);
                    connection.stream(streams::Direction::kWrite).finish(sink);
                    connection.stream(streams::Direction::kRead).finish(sink);
                  });
  std::string_view input(reinterpret_cast<const char*>(data), size);
  uint64_t now = 0;
  while (input.size() >= 2) {
    const uint8_t op = static_cast<uint8_t>(input[0]);
    std::string_view bytes = input.substr(2, static_cast<uint8_t>(input[1]));
    input.remove_prefix(2 + bytes.size());
    const streams::StreamKey key{1, static_cast<uint64_t>((op >> 4) & 3)};
    auto direction = (op & 1) ? streams::Direction::kRead : streams::Direction::kWrite;
    Tracker::Connection& connection = tracker.open(key, ++now);
    uint64_t call_len = bytes.size() + ((op & 8) ? kGeometry.chunk_len * kGeometry.max_chunks : 0);
    for (uint64_t offset = (op & 2) ? kGeometry.chunk_len : 0; offset < bytes.size(); offset += kGeometry.chunk_len) {
      std::string_view piece = bytes.substr(offset, kGeometry.chunk_len);
      if (op & 4) piece = piece.substr(0, piece.size() / 2);
      CheckingSink sink(&connection.stream(streams::Direction::kRead));
      streams::Accepted accepted = tracker.accept(connection, direction, {call_len, offset, piece}, now, sink);
      check(!accepted.holes.truncated || accepted.holes.after > 0, "truncation without missing bytes");
    }
    if (op & 64) tracker.close(key, streams::CloseReason::kClosed);
  }
  tracker.expire_idle(UINT64_MAX);
  check(tracker.size() == 0, "connections left after expiring all");
  return 0;
}
