// Collector spool: a bounded on-disk queue of encoded batches (one fsync'd 0600 file per sequence, 0700 dir) and the
// persisted next batch sequence. Survives agent restarts; when full the oldest batches are deleted and counted.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace credtrace::exporter {

struct SpoolStats {
  uint64_t batches = 0;          // held now
  uint64_t bytes = 0;            // held now (file sizes)
  uint64_t dropped_full = 0;     // oldest batches deleted to make room (or new ones too large to hold, also when
                                 // the disk could not hold them even with every held batch deleted)
  uint64_t corrupt = 0;          // unreadable or damaged files skipped and deleted
  uint64_t write_failures = 0;   // batches that could not be written at all (counted as lost)
};

// Thread-safe: one thread puts, another reads and removes.
class Spool {
 public:
  // Creates dir (0700) if needed, deletes leftover temporary files, indexes the batch files and loads the next
  // sequence (max of the persisted counter and the newest held batch + 1; first_sequence for a new spool).
  static std::unique_ptr<Spool> open(const std::string& dir, uint64_t max_bytes, std::string* error,
                                     uint64_t first_sequence = 1);

  // The sequence the next put must use.
  uint64_t next_sequence() const;

  // Persists the advanced sequence counter, then durably stores the batch under `sequence` (>= next_sequence()).
  // Deletes the oldest batches when the spool would exceed max_bytes or the disk is full (ENOSPC/EDQUOT), but never
  // for a batch that could not fit even then. Returns false when the batch could not be kept (too large, or I/O
  // failure); that is counted.
  bool put(uint64_t sequence, std::string_view body);

  // Held sequences, oldest first.
  std::vector<uint64_t> sequences() const;
  std::optional<uint64_t> oldest() const;

  // The body stored under `sequence`; nullopt when it is gone (dropped meanwhile) or damaged (then deleted and
  // counted as corrupt).
  std::optional<std::string> read(uint64_t sequence);

  // Deletes a batch (acknowledged, or rejected by the collector). No-op if it is already gone.
  void remove(uint64_t sequence);

  SpoolStats stats() const;
  const std::string& dir() const { return dir_; }

 private:
  Spool(std::string dir, uint64_t max_bytes) : dir_(std::move(dir)), max_bytes_(max_bytes) {}
  std::string path_of(uint64_t sequence) const;
  bool load(uint64_t first_sequence, std::string* error);
  bool persist_sequence(uint64_t next, int* error_number);
  bool write_file(uint64_t sequence, std::string_view body, int* error_number);
  bool fits_on_emptied_disk_locked(uint64_t size) const;
  void drop_oldest_locked();
  void remove_locked(uint64_t sequence);

  const std::string dir_;
  const uint64_t max_bytes_;
  mutable std::mutex mutex_;
  std::map<uint64_t, uint64_t> files_;  // sequence → file size
  uint64_t bytes_ = 0;
  uint64_t next_sequence_ = 1;
  SpoolStats counters_;
};

// Spool file layout, exposed for tests: 8-byte magic, 4-byte little-endian body length, 4-byte CRC-32 of the body,
// then the body (a zlib-compressed IngestBatch).
inline constexpr size_t kSpoolHeaderBytes = 16;
std::string spool_file_name(uint64_t sequence);

}  // namespace credtrace::exporter
