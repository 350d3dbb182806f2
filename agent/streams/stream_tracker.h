// Public API of the stream tracker: every captured connection by (pid, connection id), its two directions, lifetime.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <utility>

#include "streams/stream.h"

namespace credtrace::streams {

// A connection of one process: the SSL* of a TLS stream, a tagged socket fd, later a stdio pipe.
struct StreamKey {
  uint32_t pid = 0;
  uint64_t connection = 0;
  auto operator<=>(const StreamKey&) const = default;
};

// Why a connection's state was let go.
enum class CloseReason {
  kClosed,       // the connection ended (SSL_free, close): its parsers should be finished
  kReplaced,     // its id was reused for a new connection (SSL_new at the address, connect() on the fd)
  kAbandoned,    // the caller stops following it (a protocol it does not parse)
  kProcessExit,  // its process exited
  kIdle,         // nothing seen on it for TrackerLimits::idle_ns
  kEvicted,      // the least recently seen, dropped at TrackerLimits::max_connections
};

struct TrackerLimits {
  size_t max_connections = 16384;
  uint64_t idle_ns = 3600ull * 1'000'000'000ull;
  CaptureGeometry geometry;
};

// Counters of one tracker; they only grow.
struct TrackerStats {
  uint64_t opened = 0;
  uint64_t closed = 0;   // every reason, evictions and expiries included
  uint64_t evicted = 0;
  uint64_t expired = 0;  // idle
};

// The connections of every watched process, each with its write and read Stream and a Context the caller keeps per
// connection (for the credential-use sensor: SNI, destination address, uses waiting for it, requests in flight).
// Bounded: at max_connections the least recently seen connection is evicted; idle ones expire; a process's go when
// it exits. Every way a connection goes calls on_close first, with the reason; its streams' held bytes are wiped.
template <class Context>
class StreamTracker {
 public:
  struct Connection {
    Context context;
    std::array<Stream, kDirections> streams;
    uint64_t last_seen_ns = 0;
    typename std::list<StreamKey>::iterator recency;  // the tracker's: its place among the least recently seen

    Stream& stream(Direction direction) { return streams[index_of(direction)]; }
  };
  // Called before a connection goes; it must not open or close connections.
  using OnClose = std::function<void(const StreamKey&, Connection&, CloseReason)>;

  StreamTracker(TrackerLimits limits, Detector detect, OnClose on_close)
      : limits_(limits), on_close_(std::move(on_close)) {
    shared_.geometry = limits.geometry;
    shared_.detect = std::move(detect);
  }
  StreamTracker(const StreamTracker&) = delete;
  StreamTracker& operator=(const StreamTracker&) = delete;

  // The connection, created when new (after evicting the least recently seen one at the bound).
  Connection& open(const StreamKey& key, uint64_t now_ns) {
    auto it = table_.find(key);
    if (it == table_.end()) {
      if (!table_.empty() && table_.size() >= limits_.max_connections) {
        ++stats_.evicted;
        erase(table_.find(recency_.front()), CloseReason::kEvicted);
      }
      it = table_.try_emplace(key).first;
      it->second.recency = recency_.insert(recency_.end(), key);
      ++stats_.opened;
    }
    touch(it->second, now_ns);
    return it->second;
  }

  Connection* find(const StreamKey& key) {
    auto it = table_.find(key);
    return it == table_.end() ? nullptr : &it->second;
  }

  // One captured chunk of a direction of an open connection: put in order, holes reported, fed to its parser.
  Accepted accept(Connection& connection, Direction direction, const Chunk& chunk, uint64_t now_ns,
                  protocols::MessageSink& sink) {
    touch(connection, now_ns);
    return connection.stream(direction).accept(direction, chunk, shared_, sink);
  }

  bool close(const StreamKey& key, CloseReason reason) {
    auto it = table_.find(key);
    if (it == table_.end()) return false;
    erase(it, reason);
    return true;
  }

  // Every connection of the process.
  size_t close_process(uint32_t pid, CloseReason reason = CloseReason::kProcessExit) {
    size_t closed = 0;
    for (auto it = table_.lower_bound({pid, 0}); it != table_.end() && it->first.pid == pid; ++closed)
      it = erase(it, reason);
    return closed;
  }

  // Connections nothing was seen on for idle_ns before now_ns (event time; UINT64_MAX: all).
  size_t expire_idle(uint64_t now_ns) {
    size_t expired = 0;
    while (!recency_.empty()) {
      auto it = table_.find(recency_.front());
      if (now_ns < it->second.last_seen_ns || now_ns - it->second.last_seen_ns < limits_.idle_ns) break;
      ++stats_.expired;
      ++expired;
      erase(it, CloseReason::kIdle);
    }
    return expired;
  }

  // f(const StreamKey&, Connection&) for every connection, in key order.
  template <class F>
  void for_each(F&& f) {
    for (auto& [key, connection] : table_) f(key, connection);
  }

  size_t size() const { return table_.size(); }
  const TrackerStats& stats() const { return stats_; }
  const DirectionCounters& counters(Direction direction) const { return shared_.counters[index_of(direction)]; }

 private:
  using Table = std::map<StreamKey, Connection>;

  // Seen now: the most recently seen (event times only move forward).
  void touch(Connection& connection, uint64_t now_ns) {
    connection.last_seen_ns = std::max(connection.last_seen_ns, now_ns);
    recency_.splice(recency_.end(), recency_, connection.recency);
  }

  typename Table::iterator erase(typename Table::iterator it, CloseReason reason) {
    if (on_close_) on_close_(it->first, it->second, reason);
    ++stats_.closed;
    recency_.erase(it->second.recency);
    return table_.erase(it);
  }

  TrackerLimits limits_;
  OnClose on_close_;
  StreamShared shared_;
  Table table_;
  std::list<StreamKey> recency_;  // least recently seen first
  TrackerStats stats_;
};

}  // namespace credtrace::streams
