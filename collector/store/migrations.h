// Versioned schema migrations of the collector database, one list per SQL dialect (same tables, same versions).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "store/sql_session.h"

namespace credtrace::collector {

struct Migration {
  int version;
  std::string name;
  std::vector<std::string> statements;
  std::function<Status(SqlSession&)> then = {};  // after the statements: fills what SQL alone cannot (none: nothing)
};

// Created before migrating: which versions are applied.
extern const char* const kMigrationsTable;

const std::vector<Migration>& sqlite_migrations();
const std::vector<Migration>& postgres_migrations();

// Creates schema_migrations if needed and applies the pending migrations; the caller holds a write transaction.
Status apply_migrations(SqlSession& session, const std::vector<Migration>& migrations);

}  // namespace credtrace::collector
