// stop_thread: how the collector's background threads (group commit, WAL checkpoints) are told to stop and joined.
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>

namespace credtrace::collector {

// Sets `stopping` under `mutex`, wakes every waiter on `wake` and waits for `thread` to end.
inline void stop_thread(std::mutex& mutex, bool& stopping, std::condition_variable& wake, std::thread& thread) {
  {
    std::lock_guard lock(mutex);
    stopping = true;
  }
  wake.notify_all();
  thread.join();
}

}  // namespace credtrace::collector
