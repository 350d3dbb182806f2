// SqlTransaction: BEGIN on construction, ROLLBACK on destruction unless commit() succeeded; for either connection.
#pragma once

#include "common/status.h"

namespace credtrace::collector {

// `Connection` has Status exec(const char*-like SQL). After a failed COMMIT the destructor still sends ROLLBACK
// (SQLite keeps the transaction open then; PostgreSQL has ended it and only warns).
template <typename Connection>
class SqlTransaction {
 public:
  SqlTransaction(Connection& connection, const char* begin) : connection_(connection), begin_(connection.exec(begin)) {
    open_ = begin_.ok();
  }
  ~SqlTransaction() {
    if (open_) (void)connection_.exec("ROLLBACK");
  }
  SqlTransaction(const SqlTransaction&) = delete;
  SqlTransaction& operator=(const SqlTransaction&) = delete;
  const Status& begin_status() const { return begin_; }
  Status commit() {
    Status status = connection_.exec("COMMIT");
    open_ = !status.ok();
    return status;
  }

 private:
  Connection& connection_;
  Status begin_;
  bool open_ = false;
};

}  // namespace credtrace::collector
