// Retry delays for the collector sink: exponential backoff with full jitter (a uniform delay in [0, min(max, base·2^n)]).
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace credtrace::exporter {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, uint64_t seed = std::random_device{}())
      : initial_(initial), max_(max < initial ? initial : max), rng_(seed) {}

  // The delay before the next attempt; each call doubles the ceiling up to max.
  std::chrono::milliseconds next() {
    int64_t ceiling = initial_.count();
    for (uint32_t i = 0; i < failures_ && ceiling < max_.count(); ++i) ceiling *= 2;
    if (ceiling > max_.count()) ceiling = max_.count();
    ++failures_;
    std::uniform_int_distribution<int64_t> pick(0, ceiling);
    return std::chrono::milliseconds(pick(rng_));
  }
  // After a success: the next failure starts from the initial ceiling again.
  void reset() { failures_ = 0; }
  uint32_t failures() const { return failures_; }

 private:
  std::chrono::milliseconds initial_, max_;
  uint32_t failures_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace credtrace::exporter
