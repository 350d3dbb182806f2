// SqlSession over a SqliteConnection: $N queries and multi-row statements, cached prepared statements, SqlRow reads.
#pragma once

#include <functional>

#include "store/sql_session.h"
#include "store/sqlite/sqlite_db.h"

namespace credtrace::collector {

class SqliteSession final : public SqlSession {
 public:
  explicit SqliteSession(SqliteConnection& connection) : connection_(connection) {}
  using SqlSession::run;
  Status run(const SqlQuery& query, const SqlRowFn& row) override;
  // Multi-row VALUES statements in kRowsPerStatement chunks, the values bound straight from the caller's bytes.
  Status run_rows(const BulkStatement& statement, size_t count, const RowValuesFn& values,
                  const SqlRowFn& row = {}) override;

 private:
  Status run_chunk(const BulkStatement& statement, size_t from, size_t rows, const RowValuesFn& values,
                   const SqlRowFn& row);
  Status step_all(SqliteStatement& statement, const SqlRowFn& row);

  SqliteConnection& connection_;
};

}  // namespace credtrace::collector
