// SqlSession over a SqliteConnection: $N queries with cached prepared statements, rows read through SqlRow.
#include "store/sqlite/sqlite_session.h"

namespace credtrace::collector {
namespace {

class SqliteRow final : public SqlRow {
 public:
  explicit SqliteRow(SqliteStatement& statement) : statement_(statement) {}
  int64_t int_at(int column) const override { return statement_.int_at(column); }
  std::string text_at(int column) const override { return statement_.text_at(column); }
  std::string blob_at(int column) const override { return statement_.blob_at(column); }

 private:
  SqliteStatement& statement_;
};

void bind_all(SqliteStatement& stmt, const std::vector<SqlParam>& params) {
  for (size_t i = 0; i < params.size(); ++i) {
    int index = static_cast<int>(i + 1);
    if (params[i].is_blob) stmt.bind_blob(index, params[i].text);
    else if (params[i].is_text) stmt.bind(index, params[i].text);
    else stmt.bind(index, params[i].number);
  }
}

}  // namespace

Status SqliteSession::run(const SqlQuery& query, const SqlRowFn& row) {
  std::unique_ptr<SqliteStatement> stmt;
  if (Status status = connection_.prepare(query.sql, stmt, query.cacheable); !status.ok()) return status;
  bind_all(*stmt, query.params);
  SqliteRow view(*stmt);
  int rc;
  while ((rc = stmt->step()) == SQLITE_ROW)
    if (row) row(view);
  return rc == SQLITE_DONE ? Status() : Status::error("SQLite query: " + connection_.error());
}

}  // namespace credtrace::collector
