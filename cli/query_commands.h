// `credtrace credentials|uses|alerts|calls|workloads`: query a collector, print a table or JSON; returns the process
// exit code.
#pragma once

#include <ostream>
#include <string>

namespace credtrace::cli {

enum class QueryKind { credentials, uses, alerts, calls, workloads };

struct QueryOptions {
  std::string collector;   // --collector URL, else $CREDTRACE_COLLECTOR
  std::string token_file;  // --token-file F, else $CREDTRACE_TOKEN / $CREDTRACE_TOKEN_FILE
  std::string ca_file;     // --collector-ca F, else $CREDTRACE_COLLECTOR_CA
  long timeout_seconds = 30;
  bool json = false;  // --json: the collector's objects, pages merged with --all
  bool all = false;   // follow next_cursor to the last page
  int limit = 0;      // page size (0: the collector's default, 100)
  std::string cursor;
  std::string fingerprint;  // credentials: one credential's detail; uses/alerts: a filter
  std::string type, workload, host, kind, since, until;
  std::string server, tool, client, outcome;  // calls
  std::string tls_coverage;                   // workloads: covered, partial, not_covered, none_found, unknown
};

// Writes the table or JSON to `out`, problems and the next-page hint to the log. Exit 0 on success (also when
// nothing matches), 2 on bad usage, an unreachable collector or a refused token. Never throws.
int run_query(QueryKind kind, const QueryOptions& options, std::ostream& out);

}  // namespace credtrace::cli
