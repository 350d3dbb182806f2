// Environment blocks the kernel read at watched execs (CT_EVENT_EXEC_ENV), held until the exec event is handled, so a
// process that exits at once still has its environment inspected.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "events.h"

namespace credtrace::sensors {

struct ExecEnvStats {
  uint64_t blocks = 0;      // environments received from the kernel
  uint64_t used = 0;        // ... inspected in place of /proc/PID/environ
  uint64_t truncated = 0;   // longer than the kernel sends (CT_ENV_MAX_CHUNKS chunks): the last variable is cut
  uint64_t gaps = 0;        // a chunk was lost (ring-buffer drop): the block is incomplete
  uint64_t evicted = 0;     // held for execs whose event never came (dropped), evicted at the limit
};

class ExecEnvironments {
 public:
  // Raw NAME/VALUE pairs: the caller inspects them and wipes them (values are secrets).
  struct Env {
    std::vector<std::pair<std::string, std::string>> vars;
    bool complete = true;  // false: truncated or a chunk missing (the last variable is left out)
  };

  explicit ExecEnvironments(size_t max_held = 1024) : max_held_(max_held) {}
  ~ExecEnvironments();
  ExecEnvironments(const ExecEnvironments&) = delete;
  ExecEnvironments& operator=(const ExecEnvironments&) = delete;

  void on_chunk(const ct_exec_env_event& e);
  // The environment of pid's exec being handled; nullopt when the kernel sent none, or when the block is older than
  // the process (sent for an earlier process with that pid: never handed to another). The block is forgotten.
  std::optional<Env> take(uint32_t pid, uint64_t process_start_boottime_ns);
  // The exec was handled, or the process exited: whatever was not taken is wiped.
  void drop(uint32_t pid);
  const ExecEnvStats& stats() const { return stats_; }

 private:
  struct Block {
    std::string bytes;  // capacity reserved up front: growing would free unwiped copies of the values
    uint32_t total_len = 0;
    bool broken = false;
    uint64_t time_boot_ns = 0;  // of the exec (its first chunk)
    uint64_t arrival = 0;       // order of arrival, for eviction of the oldest
  };
  void evict_oldest();
  static void wipe(Block& block);

  size_t max_held_;
  std::map<uint32_t, Block> blocks_;
  uint64_t arrivals_ = 0;
  ExecEnvStats stats_;
};

// "NAME=VALUE\0…" → pairs; entries without '=' are skipped; an unterminated last entry is left out unless complete.
std::vector<std::pair<std::string, std::string>> parse_env_block(std::string_view block, bool complete);

}  // namespace credtrace::sensors
