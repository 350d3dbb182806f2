// Versioned schema migrations of the collector database, one list per SQL dialect (same tables, same versions).
#pragma once

#include <string>
#include <vector>

namespace credtrace::collector {

struct Migration {
  int version;
  std::string name;
  std::vector<std::string> statements;
};

// Created before migrating: which versions are applied.
extern const char* const kMigrationsTable;

const std::vector<Migration>& sqlite_migrations();
const std::vector<Migration>& postgres_migrations();

}  // namespace credtrace::collector
