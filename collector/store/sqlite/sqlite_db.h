// RAII SQLite: connections (statement cache, $N placeholders), statements that reset on scope exit, transactions.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "common/free_with.h"
#include "common/status.h"
#include "store/sql_transaction.h"

namespace credtrace::collector {

struct BulkStatement;

using SqlitePtr = std::unique_ptr<sqlite3, FreeWith<sqlite3_close_v2>>;
using SqliteStmtPtr = std::unique_ptr<sqlite3_stmt, FreeWith<sqlite3_finalize>>;

// A statement in use: binds by 1-based parameter number ($1 → 1), steps, reads columns; resets when destroyed.
class SqliteStatement {
 public:
  SqliteStatement(sqlite3_stmt* borrowed, SqliteStmtPtr owned) : stmt_(borrowed), owned_(std::move(owned)) {}
  ~SqliteStatement();
  SqliteStatement(SqliteStatement&&) = default;
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  void bind(int index, int64_t value) { sqlite3_bind_int64(stmt_, index, value); }
  void bind(int index, std::string_view text) {
    sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
  }
  void bind_blob(int index, std::string_view blob) {
    sqlite3_bind_blob(stmt_, index, blob.data(), static_cast<int>(blob.size()), SQLITE_STATIC);
  }
  // Ready for new bindings and another run.
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return sqlite3_step(stmt_); }
  int64_t int_at(int column) const { return sqlite3_column_int64(stmt_, column); }
  std::string text_at(int column) const;
  std::string blob_at(int column) const;

 private:
  sqlite3_stmt* stmt_;
  SqliteStmtPtr owned_;
};

class SqliteConnection {
 public:
  static Status open(const std::string& path, bool read_only, std::unique_ptr<SqliteConnection>& out);
  Status exec(const std::string& sql);
  // Prepared once per connection and cached (for fixed SQL); `cache=false` for SQL built per call.
  Status prepare(const std::string& sql, std::unique_ptr<SqliteStatement>& out, bool cache = true);
  // `statement` with `rows` rows of values, cached: its SQL is built and looked up once per connection and size.
  Status prepare_rows(const BulkStatement& statement, size_t rows, std::unique_ptr<SqliteStatement>& out);
  explicit SqliteConnection(SqlitePtr db) : db_(std::move(db)) {}
  std::string error() const { return sqlite3_errmsg(db_.get()); }
  int64_t changes() const { return sqlite3_changes64(db_.get()); }
  int64_t last_insert_rowid() const { return sqlite3_last_insert_rowid(db_.get()); }
  // Calls `hook` after every commit with the WAL's size in pages; replaces automatic checkpoints (empty: no hook).
  void on_wal_commit(std::function<void(int pages)> hook);
  // Checkpoints the main database in `mode` (SQLITE_CHECKPOINT_PASSIVE, ...); busy (another one runs) is no error.
  Status checkpoint(int mode);

 private:
  SqlitePtr db_;
  std::unordered_map<std::string, SqliteStmtPtr> cache_;
  std::map<std::pair<const BulkStatement*, size_t>, sqlite3_stmt*> rows_cache_;  // statements owned by cache_
  std::function<void(int)> wal_hook_;
};

// BEGIN IMMEDIATE (the write lock at once, not at the first write), ROLLBACK unless committed.
class SqliteTransaction : public SqlTransaction<SqliteConnection> {
 public:
  explicit SqliteTransaction(SqliteConnection& connection) : SqlTransaction(connection, "BEGIN IMMEDIATE") {}
};

// "$12" → "?12": the store's SQL is written with PostgreSQL placeholders; SQLite reads ?NNN as the same index.
std::string sqlite_placeholders(std::string_view sql);

}  // namespace credtrace::collector
