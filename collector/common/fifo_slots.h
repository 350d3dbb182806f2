// FifoSlots: a fixed number of numbered slots handed out in arrival order (a fair counting semaphore), and its lease.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <vector>

namespace credtrace::collector {

// Waiters get a freed slot first come, first served: a burst of requests cannot keep one of them waiting, and a
// release wakes only the thread it hands the slot to. Slots are numbered 0..count-1 (state kept per slot needs no
// lock of its own: one holder at a time).
class FifoSlots {
 public:
  explicit FifoSlots(unsigned count);
  FifoSlots(const FifoSlots&) = delete;
  FifoSlots& operator=(const FifoSlots&) = delete;

  unsigned count() const { return count_; }
  unsigned acquire();  // blocks until this caller's turn; the slot's number
  void release(unsigned slot);
  size_t waiting() const;  // callers blocked in acquire()

  // Holds a slot for its scope.
  class Lease {
   public:
    explicit Lease(FifoSlots& slots) : slots_(slots), slot_(slots.acquire()) {}
    ~Lease() { slots_.release(slot_); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    unsigned slot() const { return slot_; }

   private:
    FifoSlots& slots_;
    unsigned slot_;
  };

 private:
  struct Waiter {
    std::condition_variable granted_cv;
    bool granted = false;
    unsigned slot = 0;
  };
  const unsigned count_;
  mutable std::mutex mutex_;
  std::vector<unsigned> free_;   // numbers of the free slots
  std::deque<Waiter*> waiting_;  // each on its waiting thread's stack
};

}  // namespace credtrace::collector
