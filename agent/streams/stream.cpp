// One direction of a captured connection: chunk order, holes, truncation, protocol detection and feeding its parser.
#include "streams/stream.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <utility>

namespace credtrace::streams {
namespace {

void wipe(std::string& bytes) {
  OPENSSL_cleanse(bytes.data(), bytes.size());
  bytes.clear();
}

}  // namespace

Holes ChunkSequence::place(const Chunk& chunk, const CaptureGeometry& geometry) {
  Holes holes;
  const uint64_t left_in_call = chunk.call_len > chunk.offset ? chunk.call_len - chunk.offset : 0;
  const uint64_t expected = std::min(geometry.chunk_len, left_in_call);
  if (chunk.offset != next_offset_) holes.before = chunk.offset > next_offset_ ? chunk.offset - next_offset_ : 1;
  const uint64_t captured = geometry.chunk_len * geometry.max_chunks;
  const bool tail_kept = geometry.keeps_tail && geometry.max_chunks >= 2 && chunk.call_len > captured;
  // Where the captured head of the call ends; beyond it only the tail (tail_kept) or nothing is captured.
  const uint64_t head_end = tail_kept ? captured - geometry.chunk_len : captured;
  const bool last_of_call = chunk.offset + expected >= chunk.call_len;
  const bool last_of_head = !last_of_call && chunk.offset + geometry.chunk_len >= head_end;
  const uint64_t got = std::min<uint64_t>(chunk.bytes.size(), expected);
  if (last_of_head) {
    const uint64_t resume = tail_kept ? chunk.call_len - geometry.chunk_len : chunk.call_len;
    holes.after = resume - (chunk.offset + got);  // the middle (tail kept) or the rest of the call is never captured
    holes.truncated = true;
    next_offset_ = tail_kept ? resume : 0;
  } else {
    next_offset_ = last_of_call ? 0 : chunk.offset + expected;
    if (got < expected) holes.after = expected - got;
  }
  return holes;
}

Stream::~Stream() { wipe(held_); }

Accepted Stream::accept(Direction direction, const Chunk& chunk, StreamShared& shared, protocols::MessageSink& sink) {
  DirectionCounters& counters = shared.counters[index_of(direction)];
  Accepted accepted;
  accepted.holes = sequence_.place(chunk, shared.geometry);
  ++counters.chunks;
  counters.bytes += chunk.bytes.size();
  if (accepted.holes.truncated) ++counters.truncated_calls;
  if (accepted.holes.before) hole(accepted.holes.before, counters);
  if (!decided_) {
    detect(direction, chunk, shared, sink, accepted);
  } else if (parser_) {
    parser_->feed(chunk.bytes, sink);
  }
  if (accepted.holes.after) hole(accepted.holes.after, counters);
  if (parser_ && !given_up_ && parser_->given_up()) {
    given_up_ = true;
    accepted.gave_up = true;
    ++counters.given_up;
  }
  return accepted;
}

void Stream::finish(protocols::MessageSink& sink) {
  if (parser_) parser_->finish(sink);
  release_held();
}

void Stream::set_parser(std::unique_ptr<protocols::StreamParser> parser) {
  parser_ = std::move(parser);
  decided_ = true;
  given_up_ = false;
  release_held();
}

void Stream::hole(uint64_t missing, DirectionCounters& counters) {
  ++counters.gaps;
  counters.bytes_missing += missing;
  if (parser_) return parser_->on_gap(missing);
  release_held();  // a broken prefix: detection starts again at the next call
}

// Detection sees the direction's first bytes: a new call's, or those held so far followed by the next in order.
void Stream::detect(Direction direction, const Chunk& chunk, StreamShared& shared, protocols::MessageSink& sink,
                    Accepted& accepted) {
  if (held_.empty() && (chunk.bytes.empty() || chunk.offset != 0)) return;  // never from the middle of a call
  if (!held_.empty()) hold(chunk.bytes);
  std::string_view first = held_.empty() ? chunk.bytes : std::string_view(held_);
  protocols::Detection detection = shared.detect(direction, first);
  DirectionCounters& counters = shared.counters[index_of(direction)];
  using Verdict = protocols::Detection::Verdict;
  if (detection.verdict == Verdict::kNeedMore && first.size() < kMaxDetectBytes) {
    if (held_.empty()) hold(chunk.bytes);
    return;
  }
  decided_ = true;
  accepted.decided = true;
  if (detection.verdict != Verdict::kParser || !detection.parser) {
    ++counters.unsupported;
    return release_held();
  }
  ++counters.detected;
  parser_ = std::move(detection.parser);
  parser_->feed(first, sink);
  release_held();
}

// Appends to the held bytes; storage that must grow is wiped before it is freed.
void Stream::hold(std::string_view bytes) {
  if (held_.size() + bytes.size() > held_.capacity()) {
    std::string bigger;
    bigger.reserve(std::max(held_.size() + bytes.size(), 2 * held_.capacity()));
    bigger.append(held_);
    wipe(held_);
    held_.swap(bigger);
  }
  held_.append(bytes);
}

void Stream::release_held() {
  wipe(held_);
  std::string().swap(held_);
}

}  // namespace credtrace::streams
