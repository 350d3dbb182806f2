// FifoSlots: slots are bounded, numbered, never held twice at once, and handed to waiters in the order they came.
#include "common/fifo_slots.h"

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

namespace credtrace::collector {
namespace {

void wait_for_waiters(const FifoSlots& slots, size_t count) {
  for (int i = 0; i < 5000 && slots.waiting() < count; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_EQ(slots.waiting(), count);
}

TEST(FifoSlots, FreeSlotsAreTakenWithoutWaitingEachWithItsNumber) {
  FifoSlots slots(2);
  const unsigned first = slots.acquire(), second = slots.acquire();
  EXPECT_EQ(slots.waiting(), 0u);
  EXPECT_NE(first, second);
  EXPECT_LT(first, 2u);
  EXPECT_LT(second, 2u);
  slots.release(first);
  EXPECT_EQ(slots.acquire(), first);
  slots.release(first);
  slots.release(second);
}

TEST(FifoSlots, WaitersAreServedInArrivalOrder) {
  FifoSlots slots(1);
  const unsigned held = slots.acquire();
  std::mutex mutex;
  std::vector<int> order;
  std::vector<std::thread> threads;
  for (int n = 0; n < 5; ++n) {
    threads.emplace_back([&, n] {
      FifoSlots::Lease lease(slots);
      std::lock_guard lock(mutex);
      order.push_back(n);
    });
    wait_for_waiters(slots, static_cast<size_t>(n) + 1);  // the next one queues behind this one
  }
  slots.release(held);
  for (auto& t : threads) t.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(slots.waiting(), 0u);
}

TEST(FifoSlots, NeverMoreHoldersThanSlots) {
  FifoSlots slots(3);
  std::mutex mutex;
  int holders = 0, most = 0;
  std::vector<int> holding(3, 0);  // per slot: a slot is never held twice at once
  bool shared = false;
  std::vector<std::thread> threads;
  for (int n = 0; n < 16; ++n)
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        FifoSlots::Lease lease(slots);
        {
          std::lock_guard lock(mutex);
          most = std::max(most, ++holders);
          shared |= ++holding.at(lease.slot()) > 1;
        }
        std::this_thread::yield();
        std::lock_guard lock(mutex);
        --holders;
        --holding.at(lease.slot());
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_LE(most, 3);
  EXPECT_EQ(holders, 0);
  EXPECT_FALSE(shared);
}

}  // namespace
}  // namespace credtrace::collector
