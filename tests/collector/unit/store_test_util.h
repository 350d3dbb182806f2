// Helpers of the collector's store unit tests: fresh SQLite paths, opened stores, databases an older collector left.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "store/migrations.h"
#include "store/sqlite/sqlite_session.h"
#include "store/store.h"

namespace credtrace::collector::test_util {

// Removes a database file with its -wal and -shm.
inline void remove_db_files(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
}

// The databases the test program made; they are removed when it exits, so runs leave nothing in the temp dir.
class TempDbs {
 public:
  TempDbs() = default;
  TempDbs(const TempDbs&) = delete;
  TempDbs& operator=(const TempDbs&) = delete;
  ~TempDbs() {
    for (const std::string& path : paths_) remove_db_files(path);
  }
  void keep(const std::string& path) { paths_.push_back(path); }

 private:
  std::vector<std::string> paths_;
};

// A path for a new SQLite database (none there, nor its -wal and -shm); `name` tells the tests' files apart.
inline std::string temp_db(const std::string& name) {
  static int n = 0;
  static TempDbs made;
  std::string path = ::testing::TempDir() + "/collector-" + name + "-" + std::to_string(getpid()) + "-" +
                     std::to_string(n++) + ".db";
  remove_db_files(path);
  made.keep(path);
  return path;
}

inline std::unique_ptr<Store> open_sqlite(const std::string& path, AlertConfig alerts = {}, int readers = 2) {
  std::unique_ptr<Store> store;
  Status s = open_store(StoreOptions{"sqlite:" + path, readers, false, std::move(alerts)}, store);
  EXPECT_TRUE(s.ok()) << s.message();
  return store;
}

// Creates the database at `path` with the first `versions` migrations only, then lets `fill` add rows to it.
inline void old_database(const std::string& path, size_t versions, const std::function<void(SqlSession&)>& fill) {
  std::unique_ptr<SqliteConnection> raw;
  ASSERT_TRUE(SqliteConnection::open(path, false, raw).ok());
  SqliteSession session(*raw);
  std::vector<Migration> old(sqlite_migrations().begin(), sqlite_migrations().begin() + static_cast<long>(versions));
  ASSERT_TRUE(apply_migrations(session, old).ok());
  fill(session);
}

}  // namespace credtrace::collector::test_util
