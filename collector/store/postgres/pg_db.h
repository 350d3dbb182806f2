// RAII libpq: connections (prepared-statement cache, text/binary parameters, reconnect), results, transactions.
#pragma once

#include <libpq-fe.h>

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/free_with.h"
#include "store/sql_session.h"
#include "store/sql_transaction.h"

namespace credtrace::collector {

using PgConnPtr = std::unique_ptr<PGconn, FreeWith<PQfinish>>;
using PgResultPtr = std::unique_ptr<PGresult, FreeWith<PQclear>>;

class PgConnection {
 public:
  static Status open(const std::string& url, std::unique_ptr<PgConnection>& out);
  explicit PgConnection(PgConnPtr conn) : conn_(std::move(conn)) {}
  // Runs a $N query; cacheable SQL is prepared once per connection. Calls `row` per result row.
  Status run(const SqlQuery& query, const SqlRowFn& row);
  // A command without parameters (BEGIN, COMMIT, ...).
  Status exec(const char* sql);
  // SQLSTATE of the last failed command ("40001", "40P01", ...), empty after success.
  const std::string& sqlstate() const { return sqlstate_; }
  // The server closed the connection (restart, failover, network): ensure_connected() before the next use.
  bool broken() const { return PQstatus(conn_.get()) != CONNECTION_OK; }
  // Reconnects a broken connection (its prepared statements are gone with it); false when that fails.
  bool ensure_connected();

 private:
  Status prepared_name(const std::string& sql, std::string& name);
  Status check(const PgResultPtr& result, const char* what);

  PgConnPtr conn_;
  std::unordered_map<std::string, std::string> prepared_;  // SQL → statement name
  std::string sqlstate_;
};

class PgSession final : public SqlSession {
 public:
  explicit PgSession(PgConnection& connection) : connection_(connection) {}
  using SqlSession::run;
  Status run(const SqlQuery& query, const SqlRowFn& row) override { return connection_.run(query, row); }
  // One statement whatever the row count: each column's values bound as one array, the rows read with unnest.
  Status run_rows(const BulkStatement& statement, size_t count, const RowValuesFn& values,
                  const SqlRowFn& row = {}) override;

 private:
  PgConnection& connection_;
};

// BEGIN, ROLLBACK unless committed.
class PgTransaction : public SqlTransaction<PgConnection> {
 public:
  explicit PgTransaction(PgConnection& connection) : SqlTransaction(connection, "BEGIN") {}
};

// A text-format array literal ('{1,"a",...}') built element by element, bound as one parameter.
class PgArray {
 public:
  PgArray& add(int64_t value);
  PgArray& add(std::string_view text);
  PgArray& add_bytea(std::string_view bytes);
  SqlParam param() const { return SqlParam(body_ + "}"); }

 private:
  void separate() { body_ += body_.size() > 1 ? "," : ""; }
  std::string body_ = "{";
};

// INSERT ... SELECT * FROM unnest($1::type[], ...) ...: `statement` with one array parameter a column.
std::string pg_unnest_statement(const BulkStatement& statement);
// '\x0a0b' (bytea text output) → bytes.
std::string pg_unhex_bytea(const char* text, size_t length);
// An element of a text-format array literal: "..." with " and \ escaped.
void pg_append_array_text(std::string& out, std::string_view text);
// A bytea element of a text-format array literal: "\\x0a0b".
void pg_append_array_bytea(std::string& out, std::string_view bytes);

}  // namespace credtrace::collector
