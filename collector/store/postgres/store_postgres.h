// PostgreSQL Store (libpq): the same schema, migrations and SQL as SQLite, for collector replicas sharing one database.
#pragma once

#include <memory>
#include <string>

#include "store/store.h"

namespace credtrace::collector {

Status open_postgres_store(const std::string& url, const StoreOptions& options, std::unique_ptr<Store>& out);

}  // namespace credtrace::collector
