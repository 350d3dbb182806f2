// Batching for the collector sink: groups events by count, size and age, and encodes a group as a zlib-compressed
// IngestBatch (the POST /v1/ingest body).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "credtrace/v1/events.pb.h"
#include "credtrace/v1/ingest.pb.h"

namespace credtrace::exporter {

struct BatchLimits {
  size_t max_events = 1000;
  size_t max_bytes = 1u << 20;  // serialized events, before compression
  std::chrono::milliseconds max_age{1000};
};

// Events waiting to be sealed into batches. Not thread-safe (the sink guards it).
class EventBatcher {
 public:
  using Clock = std::chrono::steady_clock;
  explicit EventBatcher(BatchLimits limits) : limits_(limits) {}

  void add(credtrace::v1::Event event, Clock::time_point now = Clock::now());
  bool empty() const { return pending_.empty(); }
  size_t events() const { return pending_.size(); }
  size_t bytes() const { return bytes_; }

  // A full batch is waiting, or the oldest pending event is max_age old.
  bool ready(Clock::time_point now = Clock::now()) const;
  // When the oldest pending event reaches max_age (nullopt when nothing is pending).
  std::optional<Clock::time_point> deadline() const;

  // The oldest events that fit one batch (at least one, even if it alone exceeds max_bytes); empty when none.
  std::vector<credtrace::v1::Event> take();

 private:
  struct Pending {
    credtrace::v1::Event event;
    size_t bytes;
    Clock::time_point added;
  };
  BatchLimits limits_;
  std::deque<Pending> pending_;
  size_t bytes_ = 0;
};

// The compressed POST body of one batch.
std::string encode_batch(const std::string& agent_id, uint64_t sequence, std::vector<credtrace::v1::Event> events);

// Inflates and parses a body produced by encode_batch (tests and diagnostics).
bool decode_batch(const std::string& body, credtrace::v1::IngestBatch& out);

}  // namespace credtrace::exporter
