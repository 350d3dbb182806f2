// RAII SQLite: connections (statement cache, $N placeholders), statements that reset on scope exit, transactions.
#include "store/sqlite/sqlite_db.h"

#include "store/store_sql.h"

namespace credtrace::collector {

SqliteStatement::~SqliteStatement() {
  if (stmt_ == nullptr) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string SqliteStatement::text_at(int column) const {
  const auto* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

std::string SqliteStatement::blob_at(int column) const {
  const void* blob = sqlite3_column_blob(stmt_, column);
  if (blob == nullptr) return {};
  return std::string(static_cast<const char*>(blob), static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

Status SqliteConnection::open(const std::string& path, bool read_only, std::unique_ptr<SqliteConnection>& out) {
  sqlite3* raw = nullptr;
  int flags = (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  SqlitePtr db(raw);
  if (rc != SQLITE_OK)
    return Status::error("cannot open SQLite database " + path + ": " + (raw ? sqlite3_errmsg(raw) : "out of memory"));
  sqlite3_busy_timeout(raw, 10000);
  sqlite3_extended_result_codes(raw, 1);
  out = std::make_unique<SqliteConnection>(std::move(db));
  return {};
}

Status SqliteConnection::exec(const std::string& sql) {
  char* message = nullptr;
  int rc = sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return {};
  std::string text = message ? message : sqlite3_errstr(rc);
  sqlite3_free(message);
  return Status::error("SQLite: " + text);
}

Status SqliteConnection::prepare(const std::string& sql, std::unique_ptr<SqliteStatement>& out, bool cache) {
  if (cache) {
    if (auto it = cache_.find(sql); it != cache_.end()) {
      out = std::make_unique<SqliteStatement>(it->second.get(), nullptr);
      return {};
    }
  }
  std::string translated = sqlite_placeholders(sql);
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v3(db_.get(), translated.c_str(), static_cast<int>(translated.size()),
                              cache ? SQLITE_PREPARE_PERSISTENT : 0, &raw, nullptr);
  SqliteStmtPtr stmt(raw);
  if (rc != SQLITE_OK) return Status::error("SQLite prepare: " + error());
  if (!cache) {
    sqlite3_stmt* borrowed = stmt.get();
    out = std::make_unique<SqliteStatement>(borrowed, std::move(stmt));
    return {};
  }
  sqlite3_stmt* borrowed = stmt.get();
  cache_.emplace(sql, std::move(stmt));
  out = std::make_unique<SqliteStatement>(borrowed, nullptr);
  return {};
}

Status SqliteConnection::prepare_rows(const BulkStatement& statement, size_t rows,
                                      std::unique_ptr<SqliteStatement>& out) {
  const auto key = std::make_pair(&statement, rows);
  if (auto it = rows_cache_.find(key); it != rows_cache_.end()) {
    out = std::make_unique<SqliteStatement>(it->second, nullptr);
    return {};
  }
  const std::string sql = values_statement(statement, rows);
  if (Status status = prepare(sql, out); !status.ok()) return status;
  rows_cache_.emplace(key, cache_.at(sql).get());
  return {};
}

void SqliteConnection::on_wal_commit(std::function<void(int pages)> hook) {
  wal_hook_ = std::move(hook);
  if (!wal_hook_) {
    sqlite3_wal_hook(db_.get(), nullptr, nullptr);
    return;
  }
  sqlite3_wal_hook(
      db_.get(),
      [](void* self, sqlite3*, const char*, int pages) {
        static_cast<SqliteConnection*>(self)->wal_hook_(pages);
        return SQLITE_OK;
      },
      this);
}

Status SqliteConnection::checkpoint(int mode) {
  int rc = sqlite3_wal_checkpoint_v2(db_.get(), nullptr, mode, nullptr, nullptr);
  if (rc == SQLITE_OK || rc == SQLITE_BUSY) return {};  // busy: a checkpoint is running elsewhere; the next one goes on
  return Status::error("SQLite checkpoint: " + error());
}

std::string sqlite_placeholders(std::string_view sql) {
  std::string out(sql);
  for (size_t i = 0; i + 1 < out.size(); ++i)
    if (out[i] == '$' && out[i + 1] >= '0' && out[i + 1] <= '9') out[i] = '?';
  return out;
}

}  // namespace credtrace::collector
