// Web UI login sessions: random session ids handed out as cookies (only their SHA-256 kept), each with a CSRF token,
// an idle and an absolute lifetime, and a bounded number of them (the oldest evicted first, counted).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace credtrace::collector {

struct UiSessionLimits {
  std::chrono::seconds idle{30 * 60};        // a session unused this long is gone
  std::chrono::seconds absolute{12 * 3600};  // and any session this old, used or not
  size_t max_sessions = 1000;                // past it, the least recently used session is evicted
};

// A live session as the caller may see it: its CSRF token (sent back by the page on state-changing requests).
struct UiSessionView {
  std::string csrf_token;
};

class UiSessionBook {
 public:
  using Clock = std::chrono::steady_clock;
  explicit UiSessionBook(UiSessionLimits limits = {}) : limits_(limits) {}

  // A new session: its id (the cookie value, 64 hex digits from the kernel's random source; kept only as a hash).
  // Empty when no random bytes could be had.
  std::string open(Clock::time_point now = Clock::now());
  // The session a cookie value names, refreshed (idle time restarts), or nullopt when unknown or expired.
  std::optional<UiSessionView> use(std::string_view session_id, Clock::time_point now = Clock::now());
  // Ends the session (logout); false when it was not live.
  bool close(std::string_view session_id);

  size_t live() const;
  uint64_t evicted() const;
  uint64_t expired() const;

 private:
  using Hash = std::array<uint8_t, 32>;
  struct Entry {
    std::string csrf_token;
    Clock::time_point opened, last_used;
  };
  static Hash hash(std::string_view session_id);
  void drop_expired(Clock::time_point now);
  bool is_expired(const Entry& entry, Clock::time_point now) const;
  void evict_least_recently_used();

  UiSessionLimits limits_;
  mutable std::mutex mutex_;
  std::map<Hash, Entry> sessions_;
  uint64_t evicted_ = 0, expired_ = 0;
};

// Constant-time comparison of two strings of the same length (false when the lengths differ).
bool same_secret(std::string_view a, std::string_view b);

}  // namespace credtrace::collector
