// FifoSlots: numbered slots handed out in arrival order; a release passes its slot straight to the oldest waiter.
#include "common/fifo_slots.h"

namespace credtrace::collector {

FifoSlots::FifoSlots(unsigned count) : count_(count == 0 ? 1 : count) {
  for (unsigned slot = count_; slot-- > 0;) free_.push_back(slot);  // slot 0 handed out first
}

unsigned FifoSlots::acquire() {
  std::unique_lock lock(mutex_);
  if (!free_.empty() && waiting_.empty()) {
    const unsigned slot = free_.back();
    free_.pop_back();
    return slot;
  }
  Waiter me;
  waiting_.push_back(&me);
  me.granted_cv.wait(lock, [&] { return me.granted; });
  return me.slot;
}

void FifoSlots::release(unsigned slot) {
  std::lock_guard lock(mutex_);
  if (waiting_.empty()) {
    free_.push_back(slot);
    return;
  }
  Waiter* next = waiting_.front();
  waiting_.pop_front();
  next->slot = slot;
  next->granted = true;
  next->granted_cv.notify_one();  // under the lock: the waiter (and its condition variable) outlives this call
}

size_t FifoSlots::waiting() const {
  std::lock_guard lock(mutex_);
  return waiting_.size();
}

}  // namespace credtrace::collector
