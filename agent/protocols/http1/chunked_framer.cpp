// Chunked transfer-coding framer: chunk-size lines, chunk data, line ends after chunks, trailer section and limits.
#include "protocols/http1/chunked_framer.h"

#include <algorithm>

#include "protocols/http1/header_fields.h"

namespace credtrace::protocols::http1 {
namespace {

using Event = ChunkedFramer::Event;
using Step = ChunkedFramer::Step;

Step framed(Event event, size_t consumed) { return Step{event, consumed, {}, nullptr}; }
Step broken(Event event, const char* error, size_t consumed = 0) { return Step{event, consumed, {}, error}; }

}  // namespace

ChunkedFramer::Step ChunkedFramer::step(std::string_view input) {
  switch (state_) {
    case State::kSizeLine: return size_line(input);
    case State::kData: return chunk_data(input);
    case State::kDataEnd: return data_end(input);
    case State::kTrailers: return trailer_line(input);
    case State::kDone: return framed(Event::kEnd, 0);
  }
  return {};
}

void ChunkedFramer::reset() {
  state_ = State::kSizeLine;
  remaining_ = 0;
  scan_ = 0;
  trailer_bytes_ = 0;
}

void ChunkedFramer::skip_data(uint64_t missing) {
  if (state_ != State::kData) return;
  remaining_ -= std::min(missing, remaining_);
  if (remaining_ == 0) state_ = State::kDataEnd;
}

ChunkedFramer::Step ChunkedFramer::size_line(std::string_view input) {
  ChunkLine line = chunk_size_line(input, max_size_line_, scan_);
  if (line.error) return broken(Event::kError, line.error);
  if (line.length == 0) return {};
  scan_ = 0;
  remaining_ = line.chunk_size;
  trailer_bytes_ = 0;
  state_ = line.chunk_size == 0 ? State::kTrailers : State::kData;
  return framed(Event::kFraming, line.length);
}

ChunkedFramer::Step ChunkedFramer::chunk_data(std::string_view input) {
  if (input.empty()) return {};
  size_t take = static_cast<size_t>(std::min<uint64_t>(input.size(), remaining_));
  remaining_ -= take;
  if (remaining_ == 0) state_ = State::kDataEnd;
  return Step{Event::kData, take, input.substr(0, take), nullptr};
}

ChunkedFramer::Step ChunkedFramer::data_end(std::string_view input) {
  ChunkLine line = chunk_data_end(input);
  if (line.error) return broken(Event::kError, line.error);
  if (line.length == 0) return {};
  state_ = State::kSizeLine;
  return framed(Event::kFraming, line.length);
}

ChunkedFramer::Step ChunkedFramer::trailer_line(std::string_view input) {
  size_t allowed = max_trailers_ - trailer_bytes_;
  std::string_view window = input.substr(0, allowed);
  size_t nl = find_line_end(window, scan_);
  if (nl == std::string_view::npos) {
    if (input.size() < allowed) return {};
    return broken(Event::kTooLarge, "chunked trailers over the limit", allowed);
  }
  bool blank = without_cr(input.substr(0, nl)).empty();
  scan_ = 0;
  trailer_bytes_ += nl + 1;
  if (!blank) return framed(Event::kTrailer, nl + 1);
  state_ = State::kDone;
  return framed(Event::kEnd, nl + 1);
}

}  // namespace credtrace::protocols::http1
