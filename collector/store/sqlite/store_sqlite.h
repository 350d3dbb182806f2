// SQLite Store: one writer connection (WAL, serialized by a mutex) and a pool of read-only connections.
#pragma once

#include <memory>
#include <string>

#include "store/store.h"

namespace credtrace::collector {

Status open_sqlite_store(const std::string& path, const StoreOptions& options, std::unique_ptr<Store>& out);

}  // namespace credtrace::collector
