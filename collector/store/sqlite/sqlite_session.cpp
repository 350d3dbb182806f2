// SqlSession over a SqliteConnection: $N queries and multi-row statements, cached prepared statements, SqlRow reads.
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

// Binds a row's values to the next parameter numbers of a multi-row statement.
class SqliteRowValues final : public RowValues {
 public:
  explicit SqliteRowValues(SqliteStatement& statement) : statement_(statement) {}
  void add(int64_t value) override { statement_.bind(++index_, value); }
  void add(std::string_view text) override { statement_.bind(++index_, text); }
  void add_blob(std::string_view bytes) override { statement_.bind_blob(++index_, bytes); }

 private:
  SqliteStatement& statement_;
  int index_ = 0;
};

}  // namespace

Status SqliteSession::run(const SqlQuery& query, const SqlRowFn& row) {
  std::unique_ptr<SqliteStatement> stmt;
  if (Status status = connection_.prepare(query.sql, stmt, query.cacheable); !status.ok()) return status;
  bind_all(*stmt, query.params);
  return step_all(*stmt, row);
}

Status SqliteSession::run_rows(const BulkStatement& statement, size_t count, const RowValuesFn& values,
                               const SqlRowFn& row) {
  return for_each_chunk(count, [&](size_t from, size_t rows) { return run_chunk(statement, from, rows, values, row); });
}

Status SqliteSession::run_chunk(const BulkStatement& statement, size_t from, size_t rows, const RowValuesFn& values,
                                const SqlRowFn& row) {
  std::unique_ptr<SqliteStatement> stmt;
  if (Status status = connection_.prepare_rows(statement, rows, stmt); !status.ok()) return status;
  SqliteRowValues bind(*stmt);
  for (size_t i = from; i < from + rows; ++i) values(i, bind);
  return step_all(*stmt, row);
}

Status SqliteSession::step_all(SqliteStatement& statement, const SqlRowFn& row) {
  SqliteRow view(statement);
  int rc;
  while ((rc = statement.step()) == SQLITE_ROW)
    if (row) row(view);
  return rc == SQLITE_DONE ? Status() : Status::error("SQLite query: " + connection_.error());
}

}  // namespace credtrace::collector
