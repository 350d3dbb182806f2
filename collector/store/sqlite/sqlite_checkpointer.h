// Background WAL checkpoints on a connection of their own, so that a commit never waits for pages to be copied.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "store/sqlite/sqlite_db.h"

namespace credtrace::collector {

class SqliteCheckpointer {
 public:
  // `connection`: read-write, on the same database, used by this thread only. A checkpoint starts once the WAL
  // holds `threshold_pages` pages.
  SqliteCheckpointer(std::unique_ptr<SqliteConnection> connection, int threshold_pages);
  ~SqliteCheckpointer();
  SqliteCheckpointer(const SqliteCheckpointer&) = delete;
  SqliteCheckpointer& operator=(const SqliteCheckpointer&) = delete;

  // After a commit (the writer's WAL hook): the WAL now holds `pages` pages.
  void wal_grew(int pages);

 private:
  void run();

  std::unique_ptr<SqliteConnection> connection_;
  int threshold_pages_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool requested_ = false, stopping_ = false;
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace credtrace::collector
