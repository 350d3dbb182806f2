// Keeps the collector reachable under connection floods: per-connection deadlines, per-address and global limits
// with eviction of connections that never completed a request, and a bound on memory held by unfinished bodies.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

namespace credtrace::collector {

struct ConnectionLimits {
  unsigned max_connections = 1000;              // open at once; at capacity the oldest unfinished one is evicted
  unsigned max_per_address = 256;               // from one client address
  unsigned max_unauthenticated_per_address = 64;  // from one address, never authenticated a request
  std::chrono::milliseconds header_timeout{10000};   // from accept (or a request line) to complete headers
  std::chrono::milliseconds request_timeout{60000};  // from complete headers to the reply sent
  std::chrono::milliseconds idle_timeout{30000};     // keep-alive: from a reply to the next request line
  size_t max_buffered_body_bytes = 256u << 20;  // request bodies buffered across all connections
};

struct ConnectionGuardCounts {
  uint64_t evicted_at_capacity = 0, evicted_per_address = 0, evicted_unauthenticated = 0, refused = 0;
  uint64_t header_timeouts = 0, request_timeouts = 0, idle_timeouts = 0, body_budget_refusals = 0;
  uint64_t open = 0;
};

// The counts as Prometheus text (credtrace_collector_connections_*).
std::string connection_metrics_text(const ConnectionGuardCounts& counts);

// Connections are identified by an opaque key (libmicrohttpd's connection pointer) and closed by shutdown(2) of
// their socket, which makes the server close them on its own thread; the guard's lock is held across shutdown and
// across closed(), so a socket is never shut down after the server has released it (closed() runs before close(2)).
class ConnectionGuard {
 public:
  using Key = const void*;
  using Clock = std::chrono::steady_clock;

  explicit ConnectionGuard(ConnectionLimits limits);
  ~ConnectionGuard();
  ConnectionGuard(const ConnectionGuard&) = delete;
  ConnectionGuard& operator=(const ConnectionGuard&) = delete;

  // A connection accepted from `address` on socket `fd`; may evict others, or this one when nothing can go.
  void opened(Key key, int fd, const std::string& address);
  void closed(Key key);
  void request_line(Key key);                       // a request line was read (a request starts)
  void headers_complete(Key key, bool authenticated);  // the request's headers are in
  void request_completed(Key key);                  // its reply was sent (or the request was abandoned)
  // NUL decoded in the current request's path or parameters (flagged by the unescaper, checked with the headers).
  void flag_nul(Key key);
  bool take_nul(Key key);

  // Memory for request bodies, shared by every connection: false when the total would exceed the budget.
  bool reserve_body(size_t bytes);
  void release_body(size_t bytes);

  // Shuts down every connection past its deadline; the watcher thread calls it every 250 ms.
  void expire(Clock::time_point now);
  ConnectionGuardCounts counts() const;
  const ConnectionLimits& limits() const { return limits_; }

 private:
  enum class Phase { kAwaitingRequest, kHeaders, kRequest };
  struct Entry {
    int fd = -1;
    std::string address;
    uint64_t order = 0;  // accept order: smaller is older
    Phase phase = Phase::kAwaitingRequest;
    Clock::time_point deadline;
    bool first_request = true, authenticated = false, evicting = false, nul = false;
    uint64_t completed = 0;
  };
  struct AddressCount {
    unsigned open = 0, unauthenticated = 0;
  };

  void evict_locked(Key key, Entry& entry, uint64_t& counter);
  void enforce_limits_locked(Key newest, const std::string& address);
  Key oldest_locked(Key except, const std::string* address, bool unauthenticated_only) const;
  void account_locked(const Entry& entry, int sign);
  void watch();

  ConnectionLimits limits_;
  mutable std::mutex mutex_;
  std::unordered_map<Key, Entry> entries_;
  std::unordered_map<std::string, AddressCount> by_address_;
  unsigned open_ = 0;  // entries not being evicted
  uint64_t next_order_ = 0;
  ConnectionGuardCounts counts_;
  std::atomic<size_t> body_bytes_{0};
  std::atomic<uint64_t> body_budget_refusals_{0};

  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread watcher_;
};

}  // namespace credtrace::collector
