// Tests of the connection guard on real sockets: evictions by limit and age, deadlines, the body budget, counters.
#include "http/connection_guard.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

namespace credtrace::collector {
namespace {

// A connected socket pair: the guard gets `server`, the test reads `client` to see whether it was shut down.
struct Pair {
  int server = -1, client = -1;
  Pair() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) == 0) server = fds[0], client = fds[1];
  }
  ~Pair() {
    ::close(server);
    ::close(client);
  }
  bool shut_down() const {
    char byte;
    return ::recv(client, &byte, 1, 0) == 0;  // EOF: the server side was shut down
  }
  const void* key() const { return this; }
};

TEST(ConnectionGuard, UnauthenticatedConnectionsOfOneAddressEvictTheOldest) {
  ConnectionLimits limits;
  limits.max_unauthenticated_per_address = 2;
  ConnectionGuard guard(limits);
  std::vector<Pair> pairs(4);
  guard.opened(pairs[0].key(), pairs[0].server, "10.0.0.1");
  guard.opened(pairs[1].key(), pairs[1].server, "10.0.0.1");
  guard.headers_complete(pairs[1].key(), true);  // authenticated: no longer counted
  guard.opened(pairs[2].key(), pairs[2].server, "10.0.0.1");
  guard.opened(pairs[3].key(), pairs[3].server, "10.0.0.1");
  EXPECT_TRUE(pairs[0].shut_down());
  EXPECT_FALSE(pairs[1].shut_down());
  EXPECT_FALSE(pairs[2].shut_down());
  EXPECT_FALSE(pairs[3].shut_down());
  EXPECT_EQ(guard.counts().evicted_unauthenticated, 1u);
  EXPECT_EQ(guard.counts().open, 3u);
  for (const auto& p : pairs) guard.closed(p.key());
  EXPECT_EQ(guard.counts().open, 0u);
}

TEST(ConnectionGuard, AtCapacityTheOldestThatNeverCompletedARequestGoesElseTheNewOne) {
  ConnectionLimits limits;
  limits.max_connections = 2;
  ConnectionGuard guard(limits);
  std::vector<Pair> pairs(4);
  guard.opened(pairs[0].key(), pairs[0].server, "10.0.0.1");
  guard.request_completed(pairs[0].key());  // served once: kept
  guard.opened(pairs[1].key(), pairs[1].server, "10.0.0.2");
  guard.opened(pairs[2].key(), pairs[2].server, "10.0.0.3");
  EXPECT_FALSE(pairs[0].shut_down());
  EXPECT_TRUE(pairs[1].shut_down());
  guard.request_completed(pairs[2].key());
  guard.opened(pairs[3].key(), pairs[3].server, "10.0.0.4");  // everyone else completed one: refused
  EXPECT_TRUE(pairs[3].shut_down());
  EXPECT_FALSE(pairs[2].shut_down());
  EXPECT_EQ(guard.counts().evicted_at_capacity, 1u);
  EXPECT_EQ(guard.counts().refused, 1u);
  for (const auto& p : pairs) guard.closed(p.key());
}

TEST(ConnectionGuard, DeadlinesByPhase) {
  ConnectionLimits limits;
  limits.header_timeout = std::chrono::seconds(10);
  limits.request_timeout = std::chrono::seconds(60);
  limits.idle_timeout = std::chrono::seconds(30);
  ConnectionGuard guard(limits);
  Pair silent, slow_body, idle;
  const auto start = ConnectionGuard::Clock::now();
  guard.opened(silent.key(), silent.server, "a");
  guard.opened(slow_body.key(), slow_body.server, "a");
  guard.request_line(slow_body.key());
  guard.headers_complete(slow_body.key(), true);
  guard.opened(idle.key(), idle.server, "a");
  guard.request_line(idle.key());
  guard.headers_complete(idle.key(), false);
  guard.request_completed(idle.key());
  guard.expire(start + std::chrono::seconds(12));
  EXPECT_TRUE(silent.shut_down());
  EXPECT_FALSE(slow_body.shut_down());
  EXPECT_FALSE(idle.shut_down());
  guard.expire(start + std::chrono::seconds(32));
  EXPECT_TRUE(idle.shut_down());
  EXPECT_FALSE(slow_body.shut_down());
  guard.expire(start + std::chrono::seconds(62));
  EXPECT_TRUE(slow_body.shut_down());
  const auto counts = guard.counts();
  EXPECT_EQ(counts.header_timeouts, 1u);
  EXPECT_EQ(counts.idle_timeouts, 1u);
  EXPECT_EQ(counts.request_timeouts, 1u);
  for (const Pair* p : {&silent, &slow_body, &idle}) guard.closed(p->key());
}

TEST(ConnectionGuard, BodyBudgetIsSharedAndReturned) {
  ConnectionLimits limits;
  limits.max_buffered_body_bytes = 100;
  ConnectionGuard guard(limits);
  EXPECT_TRUE(guard.reserve_body(60));
  EXPECT_FALSE(guard.reserve_body(41));
  EXPECT_TRUE(guard.reserve_body(40));
  guard.release_body(60);
  EXPECT_TRUE(guard.reserve_body(60));
  EXPECT_EQ(guard.counts().body_budget_refusals, 1u);
  EXPECT_NE(connection_metrics_text(guard.counts()).find("credtrace_collector_body_budget_refusals_total 1"),
            std::string::npos);
}

TEST(ConnectionGuard, NulFlagBelongsToTheCurrentRequest) {
  ConnectionGuard guard(ConnectionLimits{});
  Pair p;
  guard.opened(p.key(), p.server, "a");
  guard.flag_nul(p.key());
  EXPECT_TRUE(guard.take_nul(p.key()));
  EXPECT_FALSE(guard.take_nul(p.key()));
  guard.flag_nul(p.key());
  guard.request_completed(p.key());
  EXPECT_FALSE(guard.take_nul(p.key()));
  guard.closed(p.key());
}

}  // namespace
}  // namespace credtrace::collector
