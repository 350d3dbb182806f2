// RAII libpq: connections (prepared-statement cache, text/binary parameters, reconnect), results, transactions.
#include "store/postgres/pg_db.h"

#include <cstdlib>
#include <vector>

namespace credtrace::collector {
namespace {

void ignore_notice(void*, const char*) {}  // "relation already exists, skipping" and the like

class PgRow final : public SqlRow {
 public:
  PgRow(PGresult* result, int row) : result_(result), row_(row) {}
  int64_t int_at(int column) const override { return std::strtoll(PQgetvalue(result_, row_, column), nullptr, 10); }
  std::string text_at(int column) const override {
    return std::string(PQgetvalue(result_, row_, column), static_cast<size_t>(PQgetlength(result_, row_, column)));
  }
  std::string blob_at(int column) const override {
    return pg_unhex_bytea(PQgetvalue(result_, row_, column), static_cast<size_t>(PQgetlength(result_, row_, column)));
  }

 private:
  PGresult* result_;
  int row_;
};

// Parameter arrays for PQexecParams/PQexecPrepared; integers are rendered to text, blobs go binary.
struct PgParams {
  explicit PgParams(const std::vector<SqlParam>& params) {
    numbers.reserve(params.size());
    for (const auto& p : params) {
      if (!p.is_text) numbers.push_back(std::to_string(p.number));
      const std::string& text = p.is_text ? p.text : numbers.back();
      values.push_back(text.c_str());
      lengths.push_back(static_cast<int>(text.size()));
      formats.push_back(p.is_blob ? 1 : 0);
    }
  }
  std::vector<std::string> numbers;
  std::vector<const char*> values;
  std::vector<int> lengths, formats;
};

// A row's values appended to the column arrays, column after column.
class PgColumnValues final : public RowValues {
 public:
  explicit PgColumnValues(size_t columns) : arrays_(columns) {}
  void next_row() { column_ = 0; }
  void add(int64_t value) override { next().add(value); }
  void add(std::string_view text) override { next().add(text); }
  void add_blob(std::string_view bytes) override { next().add_bytea(bytes); }
  std::vector<SqlParam> params() const {
    std::vector<SqlParam> out;
    for (const auto& array : arrays_) out.push_back(array.param());
    return out;
  }

 private:
  // The array of the next column (a row with more values than columns wraps round rather than write past the end).
  PgArray& next() { return arrays_[column_++ % arrays_.size()]; }

  std::vector<PgArray> arrays_;
  size_t column_ = 0;
};

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return 0;
}

}  // namespace

Status PgConnection::open(const std::string& url, std::unique_ptr<PgConnection>& out) {
  PgConnPtr conn(PQconnectdb(url.c_str()));
  if (!conn) return Status::error("PostgreSQL: out of memory");
  if (PQstatus(conn.get()) != CONNECTION_OK)
    return Status::error(std::string("cannot connect to PostgreSQL: ") + PQerrorMessage(conn.get()));
  PQsetNoticeProcessor(conn.get(), ignore_notice, nullptr);
  out = std::make_unique<PgConnection>(std::move(conn));
  return out->exec("SET application_name = 'credtrace-collector'");
}

bool PgConnection::ensure_connected() {
  if (PQstatus(conn_.get()) == CONNECTION_OK) return true;
  prepared_.clear();
  PQreset(conn_.get());
  return PQstatus(conn_.get()) == CONNECTION_OK;
}

Status PgConnection::check(const PgResultPtr& result, const char* what) {
  ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
    sqlstate_.clear();
    return {};
  }
  const char* state = result ? PQresultErrorField(result.get(), PG_DIAG_SQLSTATE) : nullptr;
  sqlstate_ = state ? state : "";
  // The primary message only: DETAIL may quote a failing row's values.
  const char* primary = result ? PQresultErrorField(result.get(), PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string message = primary ? primary : PQerrorMessage(conn_.get());
  while (!message.empty() && message.back() == '\n') message.pop_back();
  return Status::error(std::string("PostgreSQL ") + what + ": " + message + (sqlstate_.empty() ? "" : " (" + sqlstate_ + ")"));
}

Status PgConnection::prepared_name(const std::string& sql, std::string& name) {
  if (auto it = prepared_.find(sql); it != prepared_.end()) {
    name = it->second;
    return {};
  }
  name = "ct" + std::to_string(prepared_.size() + 1);
  PgResultPtr result(PQprepare(conn_.get(), name.c_str(), sql.c_str(), 0, nullptr));
  if (Status s = check(result, "prepare"); !s.ok()) return s;
  prepared_.emplace(sql, name);
  return {};
}

Status PgConnection::run(const SqlQuery& query, const SqlRowFn& row) {
  PgParams p(query.params);
  int n = static_cast<int>(query.params.size());
  PgResultPtr result;
  if (query.cacheable) {
    std::string name;
    if (Status s = prepared_name(query.sql, name); !s.ok()) return s;
    result.reset(PQexecPrepared(conn_.get(), name.c_str(), n, p.values.data(), p.lengths.data(), p.formats.data(), 0));
  } else {
    result.reset(PQexecParams(conn_.get(), query.sql.c_str(), n, nullptr, p.values.data(), p.lengths.data(),
                              p.formats.data(), 0));
  }
  if (Status s = check(result, "query"); !s.ok()) return s;
  if (!row) return {};
  for (int i = 0, rows = PQntuples(result.get()); i < rows; ++i) row(PgRow(result.get(), i));
  return {};
}

Status PgConnection::exec(const char* sql) {
  PgResultPtr result(PQexec(conn_.get(), sql));
  return check(result, sql);
}

Status PgSession::run_rows(const BulkStatement& statement, size_t count, const RowValuesFn& values,
                           const SqlRowFn& row) {
  if (count == 0) return {};
  PgColumnValues columns(statement.types.size());
  for (size_t i = 0; i < count; ++i) columns.next_row(), values(i, columns);
  return connection_.run(SqlQuery{pg_unnest_statement(statement), columns.params()}, row);
}

std::string pg_unnest_statement(const BulkStatement& statement) {
  std::string sql = std::string(statement.insert) + "SELECT * FROM unnest(";
  for (size_t i = 0; i < statement.types.size(); ++i)
    sql += (i ? ", $" : "$") + std::to_string(i + 1) + "::" + statement.types[i] + "[]";
  return sql + ")" + statement.tail;
}

PgArray& PgArray::add(int64_t value) {
  separate();
  body_ += std::to_string(value);
  return *this;
}

PgArray& PgArray::add(std::string_view text) {
  separate();
  pg_append_array_text(body_, text);
  return *this;
}

PgArray& PgArray::add_bytea(std::string_view bytes) {
  separate();
  pg_append_array_bytea(body_, bytes);
  return *this;
}

std::string pg_unhex_bytea(const char* text, size_t length) {
  if (length < 2 || text[0] != '\\' || text[1] != 'x') return std::string(text, length);
  std::string out;
  out.reserve((length - 2) / 2);
  for (size_t i = 2; i + 1 < length; i += 2)
    out.push_back(static_cast<char>(hex_value(text[i]) << 4 | hex_value(text[i + 1])));
  return out;
}

void pg_append_array_text(std::string& out, std::string_view text) {
  out += '"';
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

void pg_append_array_bytea(std::string& out, std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += "\"\\\\x";
  for (unsigned char c : bytes) out += kHex[c >> 4], out += kHex[c & 15];
  out += '"';
}

}  // namespace credtrace::collector
