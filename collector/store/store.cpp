// open_store: picks the Store implementation from the --db URL (sqlite:PATH, postgres://...).
#include "store/store.h"

#include "store/postgres/store_postgres.h"
#include "store/sqlite/store_sqlite.h"

namespace credtrace::collector {

Status open_store(const StoreOptions& options, std::unique_ptr<Store>& out) {
  const std::string& url = options.url;
  if (url.starts_with("sqlite:")) {
    std::string path = url.substr(7);
    if (path.empty()) return Status::error("--db sqlite:PATH needs a path");
    return open_sqlite_store(path, options, out);
  }
  if (url.starts_with("postgres://") || url.starts_with("postgresql://")) return open_postgres_store(url, options, out);
  // The value is not shown: it may hold a password.
  return Status::error("--db must be sqlite:PATH or postgres://... (the value given is neither)");
}

}  // namespace credtrace::collector
