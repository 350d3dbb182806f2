// The TLS attach of the processes already running at start: a start budget, then a queue drained after agent_ready.
#include "sensors/tls/start_attaches.h"

namespace credtrace::sensors {

void StartAttaches::begin() { starting_ = true; }

bool StartAttaches::attach_now(uint32_t pid, Clock::time_point now) {
  if (queued_.count(pid)) return false;
  if (!starting_ || ready_) return true;
  if (!deadline_) deadline_ = now + start_budget_;  // the budget runs from the first running process's attach
  if (now < *deadline_) return true;
  queued_.insert(pid);
  order_.push_back(pid);
  ++deferred_;
  return false;
}

void StartAttaches::ready(Clock::time_point now) {
  ready_ = true;
  ready_at_ = now;
}

size_t StartAttaches::drain(Clock::time_point now, const std::function<void(uint32_t)>& attach) {
  if (!ready_ || order_.empty()) return 0;
  const auto until = now + slice_;
  size_t done = 0;
  while (!order_.empty()) {
    const uint32_t pid = order_.front();
    order_.pop_front();
    if (!queued_.erase(pid)) continue;  // exited meanwhile
    attach(pid);
    ++done;
    ++attached_after_ready_;
    if (Clock::now() >= until) break;
  }
  if (order_.empty()) drain_time_ = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - ready_at_);
  return done;
}

}  // namespace credtrace::sensors
