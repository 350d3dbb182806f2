// The TLS attach of the processes already running when the agent starts: inline within a start budget, the rest
// queued and attached after agent_ready, a slice per main-loop turn.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <set>

namespace credtrace::sensors {

// Each pid-filtered uprobe registration makes the kernel walk every process that maps the probed file (taking each
// one's mmap lock), so attaching N running processes' links costs O(N x N): at 1,000 fleet clients several seconds.
// The start scan attaches what fits in start_budget; the others wait in arrival order, are attached after
// agent_ready, at most `slice` of work per turn so the ring keeps being drained, and their mcp_server_start says
// tls_coverage "unknown" until a tls_coverage event reports what was attached.
class StartAttaches {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kSlice{20};

  // start_budget: tls.start_attach_budget_ms.
  explicit StartAttaches(std::chrono::milliseconds start_budget, std::chrono::milliseconds slice = kSlice)
      : start_budget_(start_budget), slice_(slice) {}

  // The start scan begins: attaches are inline for start_budget from the first one, queued after it.
  void begin();
  // Whether pid's attach should happen now; false once it is queued (a queued pid stays queued until drained).
  bool attach_now(uint32_t pid, Clock::time_point now);
  bool queued(uint32_t pid) const { return queued_.count(pid) != 0; }
  // agent_ready is out: nothing is queued any more; drain() attaches what was.
  void ready(Clock::time_point now);
  // Attaches queued pids (attach(pid), in arrival order) until the slice is used; returns how many.
  size_t drain(Clock::time_point now, const std::function<void(uint32_t)>& attach);
  // The process exited before its turn.
  void forget(uint32_t pid) { queued_.erase(pid); }

  size_t pending() const { return queued_.size(); }
  uint64_t deferred() const { return deferred_; }
  uint64_t attached_after_ready() const { return attached_after_ready_; }
  // agent_ready -> the queue's last attach (0 while attaching or when nothing was queued).
  std::chrono::milliseconds drain_time() const { return drain_time_; }

 private:
  std::chrono::milliseconds start_budget_, slice_;
  bool starting_ = false, ready_ = false;
  std::optional<Clock::time_point> deadline_;
  Clock::time_point ready_at_{};
  std::deque<uint32_t> order_;
  std::set<uint32_t> queued_;
  uint64_t deferred_ = 0, attached_after_ready_ = 0;
  std::chrono::milliseconds drain_time_{0};
};

}  // namespace credtrace::sensors
