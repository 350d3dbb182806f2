// SqlSession: the few operations the dialect-neutral store code (aggregates, alerts) needs from a connection.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "status.h"
#include "store_sql.h"

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

}  // namespace credtrace::collector
