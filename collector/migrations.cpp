// Versioned schema migrations of the collector database, one list per SQL dialect (same tables, same versions).
//
// Tables: batches (one row per stored (agent_id, sequence): the dedupe key), events (indexed columns + the
// protobuf-encoded Event), and aggregates maintained in the ingest transaction so queries never scan events:
// credentials (one row per fingerprint), credential_links (fingerprint × workload/host/destination/source),
// workloads. Times are int64 Unix nanoseconds. A new version is appended; an applied one is never edited.
#include "migrations.h"

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

}  // namespace

const std::vector<Migration>& sqlite_migrations() {
  static const std::vector<Migration> migrations = {
      {1, "initial schema", initial_schema("id INTEGER PRIMARY KEY", "BLOB")},
  };
  return migrations;
}

const std::vector<Migration>& postgres_migrations() {
  static const std::vector<Migration> migrations = {
      {1, "initial schema", initial_schema("id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "BYTEA")},
  };
  return migrations;
}

}  // namespace credtrace::collector
