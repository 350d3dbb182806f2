// Background WAL checkpoints on a connection of their own, so that a commit never waits for pages to be copied.
#include "store/sqlite/sqlite_checkpointer.h"

#include <pthread.h>

#include "common/stop_thread.h"
#include "logging/log.h"

namespace credtrace::collector {

SqliteCheckpointer::SqliteCheckpointer(std::unique_ptr<SqliteConnection> connection, int threshold_pages)
    : connection_(std::move(connection)), threshold_pages_(threshold_pages), thread_([this] { run(); }) {}

SqliteCheckpointer::~SqliteCheckpointer() { stop_thread(mutex_, stopping_, wake_, thread_); }

void SqliteCheckpointer::wal_grew(int pages) {
  if (pages < threshold_pages_) return;
  {
    std::lock_guard lock(mutex_);
    requested_ = true;
  }
  wake_.notify_one();
}

void SqliteCheckpointer::run() {
  pthread_setname_np(pthread_self(), "wal-checkpoint");
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return requested_ || stopping_; });
    if (stopping_) return;
    requested_ = false;
    lock.unlock();
    // PASSIVE: copies what no reader still needs, never blocks the writer; the next write transaction restarts the
    // WAL from its beginning once every frame is in the database.
    if (Status s = connection_->checkpoint(SQLITE_CHECKPOINT_PASSIVE); !s.ok()) log::warn(s.message());
    lock.lock();
  }
}

}  // namespace credtrace::collector
