// SqlSession: what the dialect-neutral store code (reads, ingest, aggregates, alerts) needs from a connection.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
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

// The values of one row of a BulkStatement, column after column. Text and blobs are not copied: the bytes must
// outlive the run_rows call that asked for them (fields of the batch, string literals).
class RowValues {
 public:
  virtual ~RowValues() = default;
  virtual void add(int64_t value) = 0;
  virtual void add(std::string_view text) = 0;
  virtual void add_blob(std::string_view bytes) = 0;
};

// Fills row `row`'s values.
using RowValuesFn = std::function<void(size_t row, RowValues& values)>;

// A connection inside (or outside) a transaction that runs $N-parameterised SQL.
class SqlSession {
 public:
  virtual ~SqlSession() = default;
  // Runs `query`, calling `row` for each result row.
  virtual Status run(const SqlQuery& query, const SqlRowFn& row) = 0;
  Status run(const char* sql, std::vector<SqlParam> params, const SqlRowFn& row = {}) {
    return run(SqlQuery{sql, std::move(params)}, row);
  }
  // Runs `statement` for rows [0, count) (none: nothing runs), calling `row` for each row it returns. How the rows
  // travel is the dialect's: SQLite binds multi-row VALUES in kRowsPerStatement chunks, PostgreSQL one array a column.
  virtual Status run_rows(const BulkStatement& statement, size_t count, const RowValuesFn& values,
                          const SqlRowFn& row = {}) = 0;
};

}  // namespace credtrace::collector
