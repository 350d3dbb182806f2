// Internal: splits an HTTP/1.1 request target into host, value-free path and the raw query (kept transient).
#pragma once

#include <string>
#include <string_view>

namespace credtrace::protocols::http1::detail {

struct SplitTarget {
  std::string host;             // authority of absolute-form / authority-form targets (userinfo dropped)
  std::string path;             // path with typed credentials redacted and "?name=&name=" query (values dropped)
  std::string query_keys_only;  // "name=&name=" (no '?'), empty without a query
  std::string raw_query;        // the query as on the wire (no '?'); the caller wipes it
};

// origin-form "/p?q", absolute-form "http://h/p?q", authority-form "h:443" (CONNECT) and "*".
SplitTarget split_target(std::string_view method, std::string_view target);

// "a=1&b&c=" -> "a=&b&c="; parameter names that are themselves credentials become "<redacted>".
std::string strip_query_values(std::string_view query);

}  // namespace credtrace::protocols::http1::detail
