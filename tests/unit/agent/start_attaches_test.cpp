// The start-attach queue: inline within the start budget, queued after it, drained in arrival order after
// agent_ready a slice at a time, exits forgotten, nothing queued once ready.
#include "sensors/tls/start_attaches.h"

#include <gtest/gtest.h>

#include <vector>

namespace credtrace::sensors {
namespace {

using std::chrono::milliseconds;
using Clock = StartAttaches::Clock;

TEST(StartAttaches, InlineWithinTheBudgetQueuedAfterItDrainedInOrderAfterReady) {
  StartAttaches queue(milliseconds(100));
  const auto t0 = Clock::now();
  EXPECT_TRUE(queue.attach_now(1, t0)) << "before the start scan: every attach is inline";
  queue.begin();
  EXPECT_TRUE(queue.attach_now(7, t0)) << "the budget runs from the first attach of the start scan";
  EXPECT_TRUE(queue.attach_now(2, t0 + milliseconds(99)));
  EXPECT_FALSE(queue.attach_now(3, t0 + milliseconds(100)));
  EXPECT_FALSE(queue.attach_now(4, t0 + milliseconds(150)));
  EXPECT_FALSE(queue.attach_now(5, t0 + milliseconds(160)));
  EXPECT_FALSE(queue.attach_now(3, t0 + milliseconds(170))) << "a queued process stays queued";
  EXPECT_TRUE(queue.queued(3));
  EXPECT_FALSE(queue.queued(2));
  EXPECT_EQ(queue.pending(), 3u);
  EXPECT_EQ(queue.deferred(), 3u);

  std::vector<uint32_t> attached;
  auto attach = [&](uint32_t pid) { attached.push_back(pid); };
  EXPECT_EQ(queue.drain(Clock::now(), attach), 0u) << "nothing is attached from the queue before agent_ready";
  queue.forget(4);  // exited before its turn
  queue.ready(Clock::now());
  EXPECT_TRUE(queue.attach_now(6, Clock::now())) << "after agent_ready every new attach is inline";
  EXPECT_EQ(queue.drain(Clock::now(), attach), 2u);
  EXPECT_EQ(attached, (std::vector<uint32_t>{3, 5}));
  EXPECT_EQ(queue.pending(), 0u);
  EXPECT_EQ(queue.attached_after_ready(), 2u);
  EXPECT_GE(queue.drain_time().count(), 0);
  EXPECT_EQ(queue.drain(Clock::now(), attach), 0u);
}

TEST(StartAttaches, AZeroBudgetQueuesEveryRunningProcessAndASliceBoundsEachTurn) {
  StartAttaches queue(milliseconds(0), milliseconds(0));
  const auto t0 = Clock::now();
  queue.begin();
  for (uint32_t pid = 10; pid < 13; ++pid) EXPECT_FALSE(queue.attach_now(pid, t0));
  queue.ready(t0);
  std::vector<uint32_t> attached;
  auto attach = [&](uint32_t pid) { attached.push_back(pid); };
  EXPECT_EQ(queue.drain(Clock::now(), attach), 1u) << "a used-up slice ends the turn after one attach";
  EXPECT_EQ(queue.drain(Clock::now(), attach), 1u);
  EXPECT_EQ(queue.pending(), 1u);
  EXPECT_EQ(queue.drain(Clock::now(), attach), 1u);
  EXPECT_EQ(attached, (std::vector<uint32_t>{10, 11, 12}));
  EXPECT_EQ(queue.pending(), 0u);
}

}  // namespace
}  // namespace credtrace::sensors
