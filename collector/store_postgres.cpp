// PostgreSQL Store (libpq): the same schema, migrations and SQL as SQLite, for collector replicas sharing one database.
#include "store_postgres.h"

namespace credtrace::collector {

Status open_postgres_store(const std::string&, const StoreOptions&, std::unique_ptr<Store>&) {
  return Status::error("PostgreSQL storage is not implemented yet; use --db sqlite:PATH");
}

}  // namespace credtrace::collector
