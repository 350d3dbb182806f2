// Versioned schema migrations of the collector database, one list per SQL dialect (same tables, same versions).
//
// Tables: batches (one row per stored (agent_id, sequence): the dedupe key), events (indexed columns + the
// protobuf-encoded Event), and aggregates maintained in the ingest transaction so queries never scan events:
// credentials (one row per fingerprint), credential_links (fingerprint × workload/host/destination/source),
// workloads. Version 2 adds alerts (one row per (kind, fingerprint, subject)) with their evidence event ids, and the
// id of the first event of each credential and link (evidence for shared_key and long_lived). Version 3 trims the
// indexes that cost ingest more than they served, version 4 replaces SQLite's per-event filter indexes (below),
// version 5 keeps the workloads' human names, version 6 the MCP tool calls, the credentials tied to each call,
// sessions and tool definitions, and the workload an alert is about; version 7 the workloads' TLS coverage.
// Times are int64 Unix nanoseconds. A new version is appended; an applied one is never edited.
#include "store/migrations.h"

#include "common/time_util.h"
#include "credtrace/v1/events.pb.h"
#include "ingest/batch_rows.h"
#include "store/aggregate_writer.h"
#include "store/store_sql.h"

namespace credtrace::collector {

const char* const kMigrationsTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
    "applied_ns BIGINT NOT NULL)";

namespace {

// Shared DDL with the dialect's id column and blob type substituted.
std::vector<std::string> initial_schema(const std::string& id_column, const std::string& blob) {
  return {
      "CREATE TABLE batches (" + id_column + ", agent_id TEXT NOT NULL, sequence BIGINT NOT NULL, "
      "received_ns BIGINT NOT NULL, events BIGINT NOT NULL, UNIQUE (agent_id, sequence))",
      "CREATE INDEX batches_received ON batches (received_ns)",
      "CREATE TABLE events (" + id_column + ", batch_id BIGINT NOT NULL, type TEXT NOT NULL, "
      "time_ns BIGINT NOT NULL, host TEXT NOT NULL, agent_id TEXT NOT NULL, workload_id TEXT NOT NULL, "
      "fingerprint TEXT NOT NULL, event " + blob + " NOT NULL)",
      "CREATE INDEX events_type ON events (type, id)",
      "CREATE INDEX events_workload ON events (workload_id, id)",
      "CREATE INDEX events_host ON events (host, id)",
      "CREATE INDEX events_fingerprint ON events (fingerprint, id) WHERE fingerprint <> ''",
      "CREATE INDEX events_time ON events (time_ns)",
      "CREATE TABLE credentials (fingerprint TEXT PRIMARY KEY, type TEXT NOT NULL, preview TEXT NOT NULL, "
      "first_ns BIGINT NOT NULL, last_ns BIGINT NOT NULL, uses BIGINT NOT NULL, exposures BIGINT NOT NULL, "
      "events BIGINT NOT NULL)",
      "CREATE INDEX credentials_type ON credentials (type, fingerprint)",
      "CREATE INDEX credentials_last ON credentials (last_ns)",
      "CREATE TABLE credential_links (fingerprint TEXT NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL, "
      "first_ns BIGINT NOT NULL, last_ns BIGINT NOT NULL, events BIGINT NOT NULL, uses BIGINT NOT NULL, "
      "PRIMARY KEY (fingerprint, kind, value))",
      "CREATE INDEX credential_links_value ON credential_links (kind, value, fingerprint)",
      "CREATE INDEX credential_links_last ON credential_links (last_ns)",
      "CREATE TABLE workloads (id TEXT PRIMARY KEY, host TEXT NOT NULL, name TEXT NOT NULL, workload " + blob +
          " NOT NULL, first_ns BIGINT NOT NULL, last_ns BIGINT NOT NULL, events BIGINT NOT NULL)",
      "CREATE INDEX workloads_host ON workloads (host, id)",
      "CREATE INDEX workloads_last ON workloads (last_ns)",
  };
}

std::vector<std::string> alerts_schema(const std::string& id_column) {
  return {
      "CREATE TABLE alerts (" + id_column + ", kind TEXT NOT NULL, fingerprint TEXT NOT NULL, subject TEXT NOT NULL, "
      "credential_type TEXT NOT NULL, detail TEXT NOT NULL, first_ns BIGINT NOT NULL, last_ns BIGINT NOT NULL, "
      "hits BIGINT NOT NULL, evidence BIGINT NOT NULL, UNIQUE (kind, fingerprint, subject))",
      "CREATE INDEX alerts_kind ON alerts (kind, id)",
      "CREATE INDEX alerts_fingerprint ON alerts (fingerprint, id)",
      "CREATE INDEX alerts_last ON alerts (last_ns)",
      "CREATE TABLE alert_evidence (alert_id BIGINT NOT NULL, event_id BIGINT NOT NULL, PRIMARY KEY (alert_id, event_id))",
      "ALTER TABLE credentials ADD COLUMN first_event BIGINT NOT NULL DEFAULT 0",
      "ALTER TABLE credential_links ADD COLUMN first_event BIGINT NOT NULL DEFAULT 0",
  };
}

// Version 3, for ingest throughput (measured in pages written to the WAL per 500-event batch):
// - the events' fingerprint index keys on the first 16 hex digits (2^64 values) instead of all 64: a third of the
//   bytes per entry, fewer page splits (170 -> 95 pages per batch, of 336). Queries spell out its key and predicate
//   (events_query): SQLite never used the old one, whose predicate a "fingerprint = $N" does not imply;
// - the aggregates lose their last_ns indexes: every upsert moved its row's entry (17 pages; on PostgreSQL they
//   kept aggregate updates from being HOT); retention, their only user, scans these tables hourly instead.
std::vector<std::string> lean_indexes_schema() {
  return {
      "DROP INDEX events_fingerprint",
      "CREATE INDEX events_fingerprint_prefix ON events (substr(fingerprint, 1, 16), id) WHERE fingerprint <> ''",
      "DROP INDEX credentials_last",
      "DROP INDEX credential_links_last",
      "DROP INDEX workloads_last",
  };
}

// Version 4 (SQLite), for ingest throughput: per-batch keys replace the per-event type, workload, host and
// fingerprint indexes (sqlite_event_keys.h says why); stored events get their keys from their own columns.
// PostgreSQL keeps its indexes (concurrent replicas interleave event ids): its version 4 changes nothing.
std::vector<std::string> sqlite_event_keys_schema() {
  auto keys_of = [](const char* kind, const char* column) {
    return std::string("INSERT INTO event_keys (kind, value, first_id, last_id) SELECT '") + kind + "', " + column +
           ", MIN(id), MAX(id) FROM events WHERE " + column + " <> '' GROUP BY batch_id, " + column;
  };
  return {
      "CREATE TABLE event_keys (kind TEXT NOT NULL, value TEXT NOT NULL, first_id BIGINT NOT NULL, "
      "last_id BIGINT NOT NULL, PRIMARY KEY (kind, value, first_id)) WITHOUT ROWID",
      keys_of(kEventKeyType, "type"),
      keys_of(kEventKeyWorkload, "workload_id"),
      keys_of(kEventKeyHost, "host"),
      keys_of(kEventKeyFingerprint, "fingerprint"),
      "CREATE TABLE id_counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL)",
      "INSERT INTO id_counters (name, value) SELECT 'event', COALESCE(MAX(id), 0) FROM events",
      "DROP INDEX events_type",
      "DROP INDEX events_workload",
      "DROP INDEX events_host",
      "DROP INDEX events_fingerprint_prefix",
  };
}

// Version 5: the workloads' human names (MCP server name, systemd unit, container id, pod), so that query filters
// take a name as well as an id; the names of stored workloads are read from their latest Workload.
std::vector<std::string> workload_names_schema() {
  return {"CREATE TABLE workload_names (name TEXT NOT NULL, workload_id TEXT NOT NULL, "
          "PRIMARY KEY (name, workload_id))"};
}

// Version 6: MCP tool calls (one row per (agent_id, call_id)), the credential fingerprints tied to each call (by
// call id: a credential_use may arrive before the mcp_tool_call that ends its call), sessions, every tool definition
// hash seen per (workload, server, tool) with its first and last sighting, and alerts.workload_id (alerts about a
// workload rather than a credential: tool_definition_changed has no fingerprint).
std::vector<std::string> mcp_schema() {
  return {
      "CREATE TABLE tool_calls (agent_id TEXT NOT NULL, call_id TEXT NOT NULL, workload_id TEXT NOT NULL, "
      "server_name TEXT NOT NULL, client_name TEXT NOT NULL, tool TEXT NOT NULL, method TEXT NOT NULL, "
      "transport TEXT NOT NULL, session_id TEXT NOT NULL, side TEXT NOT NULL, requester TEXT NOT NULL, "
      "outcome TEXT NOT NULL, error_code BIGINT NOT NULL, has_error_code BIGINT NOT NULL, no_answer TEXT NOT NULL, "
      "duration_ns BIGINT NOT NULL, request_bytes BIGINT NOT NULL, response_bytes BIGINT NOT NULL, "
      "time_ns BIGINT NOT NULL, event_id BIGINT NOT NULL, PRIMARY KEY (agent_id, call_id))",
      "CREATE INDEX tool_calls_event ON tool_calls (event_id)",
      "CREATE INDEX tool_calls_server ON tool_calls (server_name, event_id)",
      "CREATE INDEX tool_calls_tool ON tool_calls (tool, event_id)",
      "CREATE INDEX tool_calls_workload ON tool_calls (workload_id, event_id)",
      "CREATE INDEX tool_calls_time ON tool_calls (time_ns)",
      "CREATE TABLE tool_call_credentials (agent_id TEXT NOT NULL, call_id TEXT NOT NULL, fingerprint TEXT NOT NULL, "
      "via TEXT NOT NULL, ambiguous BIGINT NOT NULL, type TEXT NOT NULL, preview TEXT NOT NULL, tool TEXT NOT NULL, "
      "server_name TEXT NOT NULL, first_ns BIGINT NOT NULL, last_ns BIGINT NOT NULL, events BIGINT NOT NULL, "
      "first_event BIGINT NOT NULL, PRIMARY KEY (agent_id, call_id, fingerprint, via))",
      "CREATE INDEX tool_call_credentials_fingerprint ON tool_call_credentials (fingerprint, last_ns)",
      "CREATE TABLE mcp_sessions (agent_id TEXT NOT NULL, workload_id TEXT NOT NULL, session_id TEXT NOT NULL, "
      "transport TEXT NOT NULL, side TEXT NOT NULL, protocol_version TEXT NOT NULL, client_name TEXT NOT NULL, "
      "client_version TEXT NOT NULL, server_name TEXT NOT NULL, server_version TEXT NOT NULL, time_ns BIGINT NOT NULL, "
      "event_id BIGINT NOT NULL, PRIMARY KEY (agent_id, workload_id, session_id))",
      "CREATE TABLE tool_definitions (workload_id TEXT NOT NULL, server_name TEXT NOT NULL, tool TEXT NOT NULL, "
      "sha256 TEXT NOT NULL, session_id TEXT NOT NULL, first_ns BIGINT NOT NULL, last_ns BIGINT NOT NULL, "
      "first_event BIGINT NOT NULL, last_event BIGINT NOT NULL, PRIMARY KEY (workload_id, server_name, tool, sha256))",
      "ALTER TABLE alerts ADD COLUMN workload_id TEXT NOT NULL DEFAULT ''",
      "CREATE INDEX alerts_workload ON alerts (workload_id, id)",
  };
}

// Version 7: each workload's TLS state from its latest mcp_server_start or tls_coverage event (by event time):
// tls, a TlsCoverage (its implementations without probe points, and the status); tls_coverage, the status (covered,
// partial, not_covered, none_found; '' unknown), for the query filter; tls_ns, that event's time (0: none yet).
// Other events' Workload copies may predate a library load, so they never touch these columns.
std::vector<std::string> workload_tls_schema(const std::string& blob) {
  return {
      "ALTER TABLE workloads ADD COLUMN tls " + blob + " NOT NULL DEFAULT ''",
      "ALTER TABLE workloads ADD COLUMN tls_coverage TEXT NOT NULL DEFAULT ''",
      "ALTER TABLE workloads ADD COLUMN tls_ns BIGINT NOT NULL DEFAULT 0",
  };
}

Status backfill_workload_names(SqlSession& session) {
  std::vector<WorkloadName> names;
  Status s = session.run(SqlQuery{"SELECT id, workload FROM workloads", {}, false}, [&](const SqlRow& row) {
    v1::Workload workload;
    if (!workload.ParseFromString(row.blob_at(1))) return;
    for (auto& name : workload_names(workload)) names.push_back(WorkloadName{std::move(name), row.text_at(0)});
  });
  return s.ok() ? write_workload_names(session, std::move(names)) : s;
}

// Runs one SQL statement without parameters or result rows.
Status exec(SqlSession& session, const std::string& sql) { return session.run(SqlQuery{sql, {}, false}, {}); }

Status apply(SqlSession& session, const Migration& migration) {
  for (const auto& statement : migration.statements)
    if (Status s = exec(session, statement); !s.ok()) return s;
  if (migration.then)
    if (Status s = migration.then(session); !s.ok()) return s;
  return session.run("INSERT INTO schema_migrations (version, name, applied_ns) VALUES ($1, $2, $3)",
                     {int64_t{migration.version}, migration.name, now_ns()});
}

}  // namespace

const std::vector<Migration>& sqlite_migrations() {
  static const std::vector<Migration> migrations = {
      {1, "initial schema", initial_schema("id INTEGER PRIMARY KEY", "BLOB")},
      {2, "alerts", alerts_schema("id INTEGER PRIMARY KEY")},
      {3, "lean indexes", lean_indexes_schema()},
      {4, "event keys", sqlite_event_keys_schema()},
      {5, "workload names", workload_names_schema(), backfill_workload_names},
      {6, "mcp tool calls", mcp_schema()},
      {7, "workload tls coverage", workload_tls_schema("BLOB")},
  };
  return migrations;
}

const std::vector<Migration>& postgres_migrations() {
  static const std::vector<Migration> migrations = {
      {1, "initial schema", initial_schema("id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", "BYTEA")},
      {2, "alerts", alerts_schema("id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY")},
      {3, "lean indexes", lean_indexes_schema()},
      {4, "event keys (SQLite only)", {}},
      {5, "workload names", workload_names_schema(), backfill_workload_names},
      {6, "mcp tool calls", mcp_schema()},
      {7, "workload tls coverage", workload_tls_schema("BYTEA")},
  };
  return migrations;
}

Status apply_migrations(SqlSession& session, const std::vector<Migration>& migrations) {
  if (Status s = exec(session, kMigrationsTable); !s.ok()) return s;
  int64_t current = 0;
  Status s = session.run("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", {},
                         [&](const SqlRow& row) { current = row.int_at(0); });
  if (!s.ok()) return s;
  if (current > migrations.back().version)
    return Status::error("database schema version " + std::to_string(current) + " is newer than this collector's (" +
                         std::to_string(migrations.back().version) + ")");
  for (const auto& migration : migrations) {
    if (migration.version <= current) continue;
    if (Status e = apply(session, migration); !e.ok())
      return Status::error("migration " + migration.name + ": " + e.message());
  }
  return {};
}

}  // namespace credtrace::collector
