// SqlSession over a SqliteConnection: $N queries with cached prepared statements, rows read through SqlRow.
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

 private:
  SqliteConnection& connection_;
};

}  // namespace credtrace::collector
