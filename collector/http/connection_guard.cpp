// Keeps the collector reachable under connection floods: per-connection deadlines, per-address and global limits
// with eviction of connections that never completed a request, and a bound on memory held by unfinished bodies.
#include "http/connection_guard.h"

#include <sys/socket.h>

namespace credtrace::collector {

ConnectionGuard::ConnectionGuard(ConnectionLimits limits) : limits_(limits), watcher_([this] { watch(); }) {}

ConnectionGuard::~ConnectionGuard() {
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  watcher_.join();
}

void ConnectionGuard::watch() {
  std::unique_lock lock(stop_mutex_);
  while (!stop_cv_.wait_for(lock, std::chrono::milliseconds(250), [this] { return stopping_; })) expire(Clock::now());
}

void ConnectionGuard::account_locked(const Entry& entry, int sign) {
  AddressCount& count = by_address_[entry.address];
  count.open += sign;
  open_ += sign;
  if (!entry.authenticated) count.unauthenticated += sign;
  if (count.open == 0) by_address_.erase(entry.address);
}

void ConnectionGuard::evict_locked(Key, Entry& entry, uint64_t& counter) {
  if (entry.evicting) return;
  ::shutdown(entry.fd, SHUT_RDWR);  // the server sees the end of the stream and closes it on its own thread
  entry.evicting = true;
  account_locked(entry, -1);
  ++counter;
}

// The oldest live connection other than `except` that has never completed a request (with `unauthenticated_only`:
// that has never authenticated one), from `address` when given.
ConnectionGuard::Key ConnectionGuard::oldest_locked(Key except, const std::string* address,
                                                    bool unauthenticated_only) const {
  Key best = nullptr;
  uint64_t best_order = UINT64_MAX;
  for (const auto& [key, entry] : entries_) {
    if (key == except || entry.evicting || entry.order >= best_order) continue;
    if (address && entry.address != *address) continue;
    if (unauthenticated_only ? entry.authenticated : entry.completed > 0) continue;
    best = key;
    best_order = entry.order;
  }
  return best;
}

void ConnectionGuard::enforce_limits_locked(Key newest, const std::string& address) {
  Entry& fresh = entries_.at(newest);
  auto over = [&](unsigned count, unsigned limit) { return !fresh.evicting && count > limit; };
  auto evict_one = [&](Key victim, uint64_t& counter) {
    if (victim == nullptr) return evict_locked(newest, fresh, counts_.refused);
    evict_locked(victim, entries_.at(victim), counter);
  };
  while (over(by_address_[address].unauthenticated, limits_.max_unauthenticated_per_address))
    evict_one(oldest_locked(newest, &address, true), counts_.evicted_unauthenticated);
  while (over(by_address_[address].open, limits_.max_per_address))
    evict_one(oldest_locked(newest, &address, false), counts_.evicted_per_address);
  while (over(open_, limits_.max_connections))
    evict_one(oldest_locked(newest, nullptr, false), counts_.evicted_at_capacity);
}

void ConnectionGuard::opened(Key key, int fd, const std::string& address) {
  std::lock_guard lock(mutex_);
  Entry entry;
  entry.fd = fd;
  entry.address = address;
  entry.order = next_order_++;
  entry.deadline = Clock::now() + limits_.header_timeout;  // the first request's headers, counted from accept
  auto [it, inserted] = entries_.insert_or_assign(key, std::move(entry));
  account_locked(it->second, +1);
  enforce_limits_locked(key, address);
}

void ConnectionGuard::closed(Key key) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  if (!it->second.evicting) account_locked(it->second, -1);
  entries_.erase(it);
}

void ConnectionGuard::request_line(Key key) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.phase != Phase::kAwaitingRequest) return;
  it->second.phase = Phase::kHeaders;
  if (!it->second.first_request) it->second.deadline = Clock::now() + limits_.header_timeout;
}

void ConnectionGuard::headers_complete(Key key, bool authenticated) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  Entry& entry = it->second;
  entry.phase = Phase::kRequest;
  entry.deadline = Clock::now() + limits_.request_timeout;
  if (authenticated && !entry.authenticated && !entry.evicting) {
    account_locked(entry, -1);
    entry.authenticated = true;
    account_locked(entry, +1);
  }
}

void ConnectionGuard::request_completed(Key key) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  Entry& entry = it->second;
  ++entry.completed;
  entry.first_request = false;
  entry.nul = false;
  entry.phase = Phase::kAwaitingRequest;
  entry.deadline = Clock::now() + limits_.idle_timeout;
}

void ConnectionGuard::flag_nul(Key key) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it != entries_.end()) it->second.nul = true;
}

bool ConnectionGuard::take_nul(Key key) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end() || !it->second.nul) return false;
  it->second.nul = false;
  return true;
}

bool ConnectionGuard::reserve_body(size_t bytes) {
  size_t held = body_bytes_.load(std::memory_order_relaxed);
  do {
    if (bytes > limits_.max_buffered_body_bytes - std::min(held, limits_.max_buffered_body_bytes)) {
      body_budget_refusals_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
  } while (!body_bytes_.compare_exchange_weak(held, held + bytes, std::memory_order_relaxed));
  return true;
}

void ConnectionGuard::release_body(size_t bytes) { body_bytes_.fetch_sub(bytes, std::memory_order_relaxed); }

void ConnectionGuard::expire(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  for (auto& [key, entry] : entries_) {
    if (entry.evicting || entry.deadline > now) continue;
    uint64_t& counter = entry.phase == Phase::kRequest    ? counts_.request_timeouts
                        : entry.phase == Phase::kHeaders || entry.first_request ? counts_.header_timeouts
                                                                                 : counts_.idle_timeouts;
    evict_locked(key, entry, counter);
  }
}

ConnectionGuardCounts ConnectionGuard::counts() const {
  std::lock_guard lock(mutex_);
  ConnectionGuardCounts out = counts_;
  out.open = open_;
  out.body_budget_refusals = body_budget_refusals_.load(std::memory_order_relaxed);
  return out;
}

std::string connection_metrics_text(const ConnectionGuardCounts& c) {
  std::string out =
      "# HELP credtrace_collector_connections_open Client connections open (not being closed by the collector).\n"
      "# TYPE credtrace_collector_connections_open gauge\n"
      "credtrace_collector_connections_open " + std::to_string(c.open) + "\n"
      "# HELP credtrace_collector_connections_closed_total Connections the collector closed, by reason.\n"
      "# TYPE credtrace_collector_connections_closed_total counter\n";
  const std::pair<const char*, uint64_t> reasons[] = {
      {"evicted_at_capacity", c.evicted_at_capacity}, {"evicted_per_address", c.evicted_per_address},
      {"evicted_unauthenticated", c.evicted_unauthenticated}, {"refused", c.refused},
      {"header_timeout", c.header_timeouts}, {"request_timeout", c.request_timeouts},
      {"idle_timeout", c.idle_timeouts}};
  for (const auto& [reason, value] : reasons)
    out += std::string("credtrace_collector_connections_closed_total{reason=\"") + reason + "\"} " +
           std::to_string(value) + "\n";
  out += "# HELP credtrace_collector_body_budget_refusals_total Requests answered 503: buffered bodies at their "
         "limit.\n# TYPE credtrace_collector_body_budget_refusals_total counter\n"
         "credtrace_collector_body_budget_refusals_total " + std::to_string(c.body_budget_refusals) + "\n";
  return out;
}

}  // namespace credtrace::collector
