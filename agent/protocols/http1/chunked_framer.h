// Public API of the chunked transfer-coding framer (RFC 9112 §7.1) both HTTP/1.1 parsers use for their bodies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace credtrace::protocols::http1 {

// Decodes one chunked body incrementally from the front of its caller's unconsumed bytes: chunk-size lines
// (extensions ignored), chunk data, the line end after each chunk, the last chunk and the trailer section (trailer
// fields are consumed, never kept). It holds no bytes: the caller keeps its buffer, calls step() on what it has not
// consumed yet and advances by Step::consumed. Any split of the input gives the same steps' data and result.
class ChunkedFramer {
 public:
  enum class Event {
    kNeedMore,  // nothing can be decided without more bytes (consumed is 0)
    kFraming,   // a chunk-size line or a chunk's line end was consumed
    kData,      // `data` is chunk data: the first `consumed` bytes of the input
    kTrailer,   // one trailer field line was consumed
    kEnd,       // the blank line ending the trailer section: the body is complete
    kError,     // the framing is broken (`error`); consumed is 0
    kTooLarge,  // the trailer section is over max_trailers; consumed is the bytes searched without a line end
  };
  struct Step {
    Event event = Event::kNeedMore;
    size_t consumed = 0;
    std::string_view data;        // kData only
    const char* error = nullptr;  // kError and kTooLarge: a fixed description, never input bytes
  };

  ChunkedFramer(size_t max_size_line, size_t max_trailers) : max_size_line_(max_size_line), max_trailers_(max_trailers) {}

  // The next framing step on `input`, which starts where the previous step's consumed bytes ended.
  Step step(std::string_view input);
  // A new body starts (also after kEnd, kError or kTooLarge).
  void reset();

  // Inside a chunk's data, with data_remaining() bytes of it still to come.
  bool in_data() const { return state_ == State::kData; }
  uint64_t data_remaining() const { return state_ == State::kData ? remaining_ : 0; }
  // Bytes of the current chunk's data that were never seen (a capture gap inside the chunk): at most
  // data_remaining(); the framing continues after them.
  void skip_data(uint64_t missing);

 private:
  enum class State { kSizeLine, kData, kDataEnd, kTrailers, kDone };

  Step size_line(std::string_view input);
  Step chunk_data(std::string_view input);
  Step data_end(std::string_view input);
  Step trailer_line(std::string_view input);

  size_t max_size_line_;
  size_t max_trailers_;
  State state_ = State::kSizeLine;
  uint64_t remaining_ = 0;      // bytes of the current chunk's data still expected
  size_t scan_ = 0;             // bytes of the current line already searched for its '\n'
  size_t trailer_bytes_ = 0;    // bytes of the trailer section consumed so far
};

}  // namespace credtrace::protocols::http1
