// One preloaded process's shared memory as the agent maps it: the consumer side of its record ring, the secret-name
// table the agent fills, and the decision flags. The process writes the same memory: every length is checked
// against values the agent validated at mapping, and every record is copied out before it is parsed.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "preload_abi.h"

namespace credtrace::sensors {

struct PreloadRecord {
  uint32_t type = 0;  // CT_PREC_*
  uint64_t time_boot_ns = 0;
  uint32_t tid = 0;
  std::string body;  // copied out of the ring (may hold a raw secret: the consumer wipes it after the handler)
};

struct PreloadRingStats {
  uint64_t records = 0;
  uint64_t malformed = 0;   // a record whose length or body does not fit: the ring is given up (closed)
  uint64_t discarded = 0;   // a record left half-written for kStallNs (its writer stopped or jumped out of a handler)
};

class PreloadRing {
 public:
  static constexpr uint64_t kStallNs = 2'000'000'000ull;

  // Maps a sealed memfd of exactly the size ring_bytes and table_slots give (both powers of two within the ABI's
  // limits), whose header says the same. nullptr and *error otherwise.
  static std::unique_ptr<PreloadRing> map(int fd, uint32_t ring_bytes, uint32_t table_slots, std::string* error);
  ~PreloadRing();
  PreloadRing(const PreloadRing&) = delete;
  PreloadRing& operator=(const PreloadRing&) = delete;

  // Hands records to fn in ring order, each wiped and zeroed in the ring after fn, until one is not yet written or
  // is at or after before_ns (left for the next drain). Returns how many were handed over.
  size_t drain(uint64_t before_ns, uint64_t now_mono_ns, const std::function<void(PreloadRecord&)>& fn);
  bool broken() const { return broken_; }

  // The agent's decision: records of these kinds (CT_ENABLE_*) from now on.
  void decide(uint32_t enabled);
  // The process is let go (agent stopping, ring broken): its hooks pass through.
  void close();
  void heartbeat(uint64_t now_mono_ns);
  // Adds a secret variable name to the table (already_read: its first read was reported). false when the table is
  // half full (the hooks' lookups stay short) or the name too long; true when it is there already.
  bool add_name(std::string_view name, bool already_read);
  // The reads counted in the table for a name the agent added (0 when absent).
  uint64_t reads_of(std::string_view name) const;

  uint64_t dropped_records() const;  // since this mapping (a re-registration's earlier drops were counted before)
  uint64_t abandoned_records() const;
  const PreloadRingStats& stats() const { return stats_; }

 private:
  PreloadRing(uint8_t* base, size_t bytes, uint32_t ring_bytes, uint32_t table_slots);
  ct_preload_header* header() const { return reinterpret_cast<ct_preload_header*>(base_); }
  ct_preload_name_slot* slot(uint32_t i) const;
  uint8_t* ring() const;
  int find_slot(std::string_view name) const;
  bool take_record(uint32_t word, uint64_t offset, uint64_t before_ns, PreloadRecord& out);
  void consume(uint64_t offset, uint32_t len);

  uint8_t* base_;
  size_t bytes_;
  uint32_t ring_bytes_;
  uint32_t table_slots_;
  uint64_t tail_ = 0;  // the agent's own: the copy in the header is for the writers
  uint64_t stalled_at_ = UINT64_MAX;
  uint64_t stalled_since_ns_ = 0;
  bool broken_ = false;
  bool started_ = false;
  uint64_t dropped_at_map_ = 0;
  std::vector<std::string> names_;  // what the agent put in the table, by slot ("" for slots it did not fill)
  uint32_t names_filled_ = 0;
  PreloadRingStats stats_;
};

}  // namespace credtrace::sensors
