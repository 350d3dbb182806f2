// SqlSession: the few operations the dialect-neutral store code (aggregates, alerts) needs from a connection.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/store_sql.h"

namespace credtrace::collector {

// One result row; columns are 0-based.
class SqlRow {
 public:
  virtual ~SqlRow() = default;
  virtual int64_t int_at(int column) const = 0;
  virtual std::string text_at(int column) const = 0;
  virtual std::string blob_at(int column) const = 0;
};

using SqlRowFn = std::function<void(const SqlRow&)>;

// A connection inside (or outside) a transaction that runs $N-parameterised SQL.
class SqlSession {
 public:
  virtual ~SqlSession() = default;
  // Runs `query`, calling `row` for each result row.
  virtual Status run(const SqlQuery& query, const SqlRowFn& row) = 0;
  Status run(const char* sql, std::vector<SqlParam> params, const SqlRowFn& row = {}) {
    return run(SqlQuery{sql, std::move(params)}, row);
  }
};

// Runs the multi-row statement `sql_for(n)` over rows [0, count) in chunks of kRowsPerStatement sizes;
// `add_params(i, params)` appends row i's parameters. Stops at the first error.
inline Status run_chunked(SqlSession& session, size_t count, std::string (*sql_for)(size_t),
                          const std::function<void(size_t, std::vector<SqlParam>&)>& add_params,
                          const SqlRowFn& row = {}) {
  return for_each_chunk(count, [&](size_t from, size_t rows) {
    SqlQuery query{sql_for(rows), {}};
    for (size_t i = from; i < from + rows; ++i) add_params(i, query.params);
    return session.run(query, row);
  });
}

}  // namespace credtrace::collector
