// FreeWith: a unique_ptr deleter that calls a C library's free function (sqlite3_close_v2, PQclear, ...).
#pragma once

namespace credtrace::collector {

template <auto Free>
struct FreeWith {
  template <typename T>
  void operator()(T* handle) const {
    Free(handle);
  }
};

}  // namespace credtrace::collector
