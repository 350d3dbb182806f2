// Public API of one direction of one captured connection: chunks put in order, holes and truncation, protocol choice.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "protocols/stream_parser.h"

namespace credtrace::streams {

// Bytes the watched process wrote (requests, for a client) or read (responses).
enum class Direction : uint8_t { kWrite = 0, kRead = 1 };
inline constexpr size_t kDirections = 2;
constexpr size_t index_of(Direction direction) { return static_cast<size_t>(direction); }

// How the kernel captures one call: chunks of chunk_len bytes, at most max_chunks of them; the tail of a longer
// call is not captured (truncation).
struct CaptureGeometry {
  uint64_t chunk_len = 0;
  uint64_t max_chunks = 0;
  // A call longer than chunk_len * max_chunks is captured as its first max_chunks - 1 chunks and its last chunk_len
  // bytes (the kernel's ct_emit_call_data_with_tail): the hole is in the middle, and the parser sees how it ends.
  bool keeps_tail = false;
};

// One captured chunk of a write or read call.
struct Chunk {
  uint64_t call_len = 0;   // bytes the call passed
  uint64_t offset = 0;     // where this chunk starts within the call
  std::string_view bytes;  // what was captured: shorter than the chunk when the copy fell short (the rest is a hole)
};

// The holes around one chunk, never guessed over: missing before it (a chunk dropped, or one out of order: size 1,
// as the real size is not known), after it (a short copy, or the tail of a call longer than what is captured).
struct Holes {
  uint64_t before = 0;
  uint64_t after = 0;
  bool truncated = false;  // `after` is the tail of a call longer than what the kernel captures
};

// Where the current call of a direction stands: the chunk that must come next.
class ChunkSequence {
 public:
  Holes place(const Chunk& chunk, const CaptureGeometry& geometry);
  uint64_t next_offset() const { return next_offset_; }  // 0: a new call

 private:
  uint64_t next_offset_ = 0;
};

// Counters of every stream of one direction; they only grow. None holds captured bytes.
struct DirectionCounters {
  uint64_t chunks = 0;
  uint64_t bytes = 0;            // captured bytes accepted
  uint64_t gaps = 0;             // holes reported to parsers (or that restarted detection)
  uint64_t bytes_missing = 0;    // their size
  uint64_t truncated_calls = 0;  // calls longer than what is captured
  uint64_t detected = 0;         // streams a parser was chosen for by detection
  uint64_t unsupported = 0;      // streams detection found no parser for
  uint64_t given_up = 0;         // parsers that gave up (HTTP/2 after a gap or an HPACK error)
};

// Chooses a parser from the first bytes of a direction (protocols::detect_client_protocol for requests).
using Detector = std::function<protocols::Detection(Direction, std::string_view first_bytes)>;

// What the streams of one tracker share: the capture geometry, detection and the counters.
struct StreamShared {
  CaptureGeometry geometry;
  Detector detect;
  DirectionCounters counters[kDirections];
};

// What one accept() did, for callers that count per protocol.
struct Accepted {
  Holes holes;
  bool decided = false;  // detection decided in this call: parser() is set, or the direction is not parsed
  bool gave_up = false;  // the parser gave up in this call
};

// One direction of one connection. Its chunks are put in order and fed to its parser; holes are reported to the
// parser (on_gap), never guessed over. Until a parser is chosen, the first bytes of the direction (from the start
// of a call only) go to detection; bytes detection needs more of are held, wiped when released.
class Stream {
 public:
  static constexpr size_t kMaxDetectBytes = 256;  // held for detection at most; beyond: not parsed

  Stream() = default;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  ~Stream();

  Accepted accept(Direction direction, const Chunk& chunk, StreamShared& shared, protocols::MessageSink& sink);
  // The stream ended: the parser yields a message the close delimits; held bytes are wiped.
  void finish(protocols::MessageSink& sink);

  protocols::StreamParser* parser() const { return parser_.get(); }
  // Chooses the parser without detection (e.g. the answers to a protocol's requests); decided from then on.
  void set_parser(std::unique_ptr<protocols::StreamParser> parser);
  // A parser was chosen, or detection found none.
  bool decided() const { return decided_; }

 private:
  void hole(uint64_t missing, DirectionCounters& counters);
  void detect(Direction direction, const Chunk& chunk, StreamShared& shared, protocols::MessageSink& sink,
              Accepted& accepted);
  void hold(std::string_view bytes);
  void release_held();

  ChunkSequence sequence_;
  bool decided_ = false;
  bool given_up_ = false;
  std::string held_;  // first bytes waiting for detection (wiped)
  std::unique_ptr<protocols::StreamParser> parser_;
};

}  // namespace credtrace::streams
