// SQL shared by the SQLite and PostgreSQL stores ($N placeholders, portable upserts) and the query builders.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/store.h"

namespace credtrace::collector {

// One bound value: an integer, a text or a blob (a plain struct: GCC 12 warns falsely on std::variant<int64_t, string>).
struct SqlParam {
  SqlParam(int64_t value) : is_text(false), number(value) {}  // NOLINT: implicit by design
  SqlParam(std::string value) : is_text(true), text(std::move(value)) {}  // NOLINT
  SqlParam(const char* value) : is_text(true), text(value) {}  // NOLINT
  static SqlParam blob(std::string bytes) {
    SqlParam p(std::move(bytes));
    p.is_blob = true;
    return p;
  }
  bool is_text;
  bool is_blob = false;  // is_text too: `text` holds the bytes
  int64_t number = 0;
  std::string text;
};

// A multi-row INSERT: "INSERT INTO t (columns) ", each column's SQL type (PostgreSQL binds one array a column of
// it), and what follows the rows (ON CONFLICT ... RETURNING ..., or nothing).
struct BulkStatement {
  const char* insert;
  std::vector<const char*> types;
  const char* tail = "";
};

struct SqlQuery {
  std::string sql;
  std::vector<SqlParam> params;  // params[i] binds $(i+1)
  bool cacheable = true;         // false for SQL built per call (IN lists): not kept as a prepared statement
};

namespace sql {
// $1 agent_id, $2 sequence, $3 received_ns, $4 events → RETURNING id (no row: duplicate)
extern const char* const kInsertBatch;
// $1 agent_id, $2 sequence → events
extern const char* const kSelectBatchEvents;
// SQLite: the last event id handed out, never reused (retention may delete the newest events) → value; $1 the new one
extern const char* const kLastEventId;
extern const char* const kSetLastEventId;
// The multi-row statements (SqlSession::run_rows), parameters in their column order.
// Events: id batch_id type time_ns host agent_id workload_id fingerprint event.
extern const BulkStatement kInsertEvents;
// SQLite event keys (sqlite_event_keys.h): kind value first_id last_id.
extern const BulkStatement kInsertEventKeys;
// Credentials: fingerprint type preview first_ns last_ns uses exposures events first_event → fingerprint, first_ns,
// first_event, type (after the update; an existing row keeps its type: see kSetCredentialType).
extern const BulkStatement kUpsertCredentials;
// $1 fingerprint $2 type: for a batch whose (non-empty) credential type differs from the stored one
extern const char* const kSetCredentialType;
// Links: fingerprint kind value first_ns last_ns events uses first_event → fingerprint, kind, value, first_event.
extern const BulkStatement kUpsertLinks;
// Workloads: id host name workload first_ns last_ns events tls tls_coverage tls_ns (the TLS state is kept unless
// tls_ns is newer than the stored one).
extern const BulkStatement kUpsertWorkloads;
// Workload names: name workload_id (an existing pair is left alone).
extern const BulkStatement kInsertWorkloadNames;
// $1 a name → workload_id of every workload it names
extern const char* const kWorkloadsNamed;
// $1 fingerprint $2 kind $3 limit → first_event of the earliest links of that kind
extern const char* const kSelectFirstLinkEvents;
// Tool calls: agent_id call_id workload_id server_name client_name tool method transport session_id side requester
// outcome error_code has_error_code no_answer duration_ns request_bytes response_bytes time_ns event_id (a stored
// (agent_id, call_id) keeps its first report) → event_id of each row stored.
extern const BulkStatement kInsertToolCalls;
// Credentials of calls: agent_id call_id fingerprint via ambiguous type preview tool server_name first_ns last_ns
// events first_event.
extern const BulkStatement kUpsertCallCredentials;
// Sessions: agent_id workload_id session_id transport side protocol_version client_name client_version server_name
// server_version time_ns event_id (a stored session keeps its first report).
extern const BulkStatement kInsertSessions;
// $1 workload_id $2 server_name $3 tool → sha256, session_id, last_ns, last_event of the definition last seen
extern const char* const kLatestToolDefinition;
// $1 workload_id $2 server_name $3 tool $4 sha256 $5 session_id $6 time_ns $7 event id
extern const char* const kUpsertToolDefinition;
// $1 kind $2 fingerprint $3 subject $4 credential_type $5 detail $6 first_ns $7 last_ns $8 hits $9 workload_id
// → id, evidence
extern const char* const kUpsertAlert;
// $1 alert_id $2 event_id → event_id when added (none when already there)
extern const char* const kInsertEvidence;
// $1 alert id $2 evidence rows added
extern const char* const kAddEvidenceCount;
// $1 fingerprint → fingerprint, type, preview, first_ns, last_ns, uses, exposures, events
extern const char* const kSelectCredential;
// SQLite event keys (sqlite_event_keys.h). $1 kind $2 value $3 cursor (ranges starting below it) $4 limit
// → first_id, last_id, newest first
extern const char* const kKeyRanges;
// Keys whose events are all gone (no parameter)
extern const char* const kPruneEventKeys;
// Retention, each with $1 cutoff_ns; the events delete removes at most 10000 rows per run.
extern const char* const kPruneEventsChunk;
extern const char* const kPruneBatches;
extern const char* const kPruneLinks;
extern const char* const kPruneCredentials;
extern const char* const kPruneWorkloads;
extern const char* const kPruneAlerts;
extern const char* const kPruneToolCalls;
extern const char* const kPruneCallCredentials;
extern const char* const kPruneSessions;
extern const char* const kPruneToolDefinitions;
extern const char* const kPruneEvidence;       // evidence of deleted alerts (no parameter)
extern const char* const kPruneWorkloadNames;  // names of deleted workloads (no parameter)
}  // namespace sql

// event_keys kinds
inline constexpr const char* kEventKeyType = "type";
inline constexpr const char* kEventKeyWorkload = "workload";
inline constexpr const char* kEventKeyHost = "host";
inline constexpr const char* kEventKeyFingerprint = "fingerprint";

// Rows per multi-row statement, largest first: any row count is a sum of these, so few statements get prepared.
inline constexpr size_t kRowsPerStatement[] = {64, 8, 1};
// Calls `run(from, rows)` for consecutive chunks of kRowsPerStatement sizes covering rows [0, count); stops at an error.
Status for_each_chunk(size_t count, const std::function<Status(size_t from, size_t rows)>& run);

// `statement` with `rows` rows of VALUES: parameters row after row, in its column order.
std::string values_statement(const BulkStatement& statement, size_t rows);

// A workload filter resolved to workload ids (the id given and those of the workloads it names); empty: none.
using WorkloadIds = std::vector<std::string>;

// → id, event; limit+1 rows.
SqlQuery events_query(const EventFilter& filter, const WorkloadIds& workloads);
// → id, event with ids in [first_id, last_id] matching every filter (and the cursor), newest first; at most `limit`.
SqlQuery range_events_query(const EventFilter& filter, const WorkloadIds& workloads, int64_t first_id, int64_t last_id,
                            int limit);
// → fingerprint, type, preview, first_ns, last_ns, uses, exposures, events; limit+1 rows.
SqlQuery credentials_query(const CredentialFilter& filter, const WorkloadIds& workloads);
// → fingerprint, kind, value, first_ns, last_ns, events, uses, total; at most per_kind rows per (fingerprint, kind).
SqlQuery links_query(const std::vector<std::string>& fingerprints, int per_kind);
// → id, host, name, workload, first_ns, last_ns, events, credentials; limit+1 rows.
SqlQuery workloads_query(const WorkloadFilter& filter, const WorkloadIds& workloads);
// → id, kind, fingerprint, subject, credential_type, detail, first_ns, last_ns, hits, evidence, preview,
//   workloads, hosts, workload_id; limit+1 rows.
SqlQuery alerts_query(const AlertFilter& filter, const WorkloadIds& workloads);
// → event_id, agent_id, call_id, workload_id, server_name, client_name, tool, method, transport, session_id, side,
//   requester, outcome, no_answer, has_error_code, error_code, duration_ns, request_bytes, response_bytes, time_ns;
//   newest (largest event id) first, limit+1 rows.
SqlQuery tool_calls_query(const ToolCallFilter& filter, const WorkloadIds& workloads);
// → call event_id, fingerprint, via, type, preview, ambiguous, events of the calls with those event ids.
SqlQuery call_credentials_query(const std::vector<int64_t>& call_event_ids);
// → agent_id, call_id, via, tool, server_name, ambiguous, first_ns, last_ns, events, stored, outcome, method,
//   workload_id, event_id, time_ns, total: the calls a credential is tied to, most recent first, at most max_rows.
SqlQuery credential_calls_query(const std::string& fingerprint, int max_rows);
// → alert_id, event_id of the given alerts.
SqlQuery evidence_query(const std::vector<int64_t>& alert_ids);

}  // namespace credtrace::collector
