// SQL shared by the SQLite and PostgreSQL stores ($N placeholders, portable upserts) and the query builders.
#include "store/store_sql.h"

namespace credtrace::collector {
namespace sql {

const char* const kInsertBatch =
    "INSERT INTO batches (agent_id, sequence, received_ns, events) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (agent_id, sequence) DO NOTHING RETURNING id";

const BulkStatement kInsertEvents{
    "INSERT INTO events (id, batch_id, type, time_ns, host, agent_id, workload_id, fingerprint, event) ",
    {"bigint", "bigint", "text", "bigint", "text", "text", "text", "text", "bytea"}};

const BulkStatement kInsertEventKeys{"INSERT INTO event_keys (kind, value, first_id, last_id) ",
                                     {"text", "text", "bigint", "bigint"}};

const char* const kSelectBatchEvents = "SELECT events FROM batches WHERE agent_id = $1 AND sequence = $2";

const char* const kLastEventId = "SELECT value FROM id_counters WHERE name = 'event'";
const char* const kSetLastEventId = "UPDATE id_counters SET value = $1 WHERE name = 'event'";

// Portable min/max (SQLite has min(a,b), PostgreSQL LEAST/GREATEST): CASE expressions.
#define CT_EARLIER(t, c) c " = CASE WHEN excluded." c " < " t "." c " THEN excluded." c " ELSE " t "." c " END"
#define CT_LATER(t, c) c " = CASE WHEN excluded." c " > " t "." c " THEN excluded." c " ELSE " t "." c " END"
#define CT_NONEMPTY(t, c) c " = CASE WHEN excluded." c " <> '' THEN excluded." c " ELSE " t "." c " END"
#define CT_SUM(t, c) c " = " t "." c " + excluded." c

// first_event follows first_ns (SET expressions read the row as it was before the update).
#define CT_FIRST_EVENT(t) \
  "first_event = CASE WHEN excluded.first_ns < " t ".first_ns THEN excluded.first_event ELSE " t ".first_event END"

#define CT_CREDENTIAL_COLUMNS \
  "INSERT INTO credentials (fingerprint, type, preview, first_ns, last_ns, uses, exposures, events, first_event) "
// `type` is indexed: an upsert that assigned it would rewrite its credentials_type entry every time (SQLite updates
// the entries of every index on an assigned column, changed or not): kSetCredentialType changes it when it differs.
#define CT_CREDENTIAL_CONFLICT                                                                         \
  " ON CONFLICT (fingerprint) DO UPDATE SET "                                                          \
  CT_NONEMPTY("credentials", "preview") ", " CT_FIRST_EVENT("credentials") ", "                        \
  CT_EARLIER("credentials", "first_ns") ", " CT_LATER("credentials", "last_ns") ", "                   \
  CT_SUM("credentials", "uses") ", " CT_SUM("credentials", "exposures") ", " CT_SUM("credentials", "events")

const BulkStatement kUpsertCredentials{
    CT_CREDENTIAL_COLUMNS,
    {"text", "text", "text", "bigint", "bigint", "bigint", "bigint", "bigint", "bigint"},
    CT_CREDENTIAL_CONFLICT " RETURNING fingerprint, first_ns, first_event, type"};
const char* const kSetCredentialType = "UPDATE credentials SET type = $2 WHERE fingerprint = $1";

#define CT_LINK_COLUMNS "INSERT INTO credential_links (fingerprint, kind, value, first_ns, last_ns, events, uses, first_event) "
#define CT_LINK_CONFLICT                                                                                     \
  " ON CONFLICT (fingerprint, kind, value) DO UPDATE SET " CT_FIRST_EVENT("credential_links") ", "          \
  CT_EARLIER("credential_links", "first_ns") ", " CT_LATER("credential_links", "last_ns") ", "              \
  CT_SUM("credential_links", "events") ", " CT_SUM("credential_links", "uses")

const BulkStatement kUpsertLinks{
    CT_LINK_COLUMNS,
    {"text", "text", "text", "bigint", "bigint", "bigint", "bigint", "bigint"},
    CT_LINK_CONFLICT " RETURNING fingerprint, kind, value, first_event"};

const BulkStatement kInsertWorkloadNames{"INSERT INTO workload_names (name, workload_id) ", {"text", "text"},
                                         " ON CONFLICT (name, workload_id) DO NOTHING"};

const char* const kWorkloadsNamed = "SELECT workload_id FROM workload_names WHERE name = $1 ORDER BY workload_id";

const char* const kSelectFirstLinkEvents =
    "SELECT first_event FROM credential_links WHERE fingerprint = $1 AND kind = $2 ORDER BY first_ns, value LIMIT $3";

const char* const kUpsertAlert =
    "INSERT INTO alerts (kind, fingerprint, subject, credential_type, detail, first_ns, last_ns, hits, evidence, "
    "workload_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9) ON CONFLICT (kind, fingerprint, subject) DO UPDATE SET "
    CT_NONEMPTY("alerts", "credential_type") ", " CT_NONEMPTY("alerts", "workload_id") ", "
    "detail = CASE WHEN excluded.last_ns >= alerts.last_ns THEN excluded.detail ELSE alerts.detail END, "
    CT_EARLIER("alerts", "first_ns") ", " CT_LATER("alerts", "last_ns") ", " CT_SUM("alerts", "hits")
    " RETURNING id, evidence";

const char* const kInsertEvidence =
    "INSERT INTO alert_evidence (alert_id, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING event_id";

const char* const kAddEvidenceCount = "UPDATE alerts SET evidence = evidence + $2 WHERE id = $1";

#define CT_IF_NEWER(c) c " = CASE WHEN excluded.last_ns >= workloads.last_ns THEN excluded." c " ELSE workloads." c " END"
// The TLS state: only from a strictly newer mcp_server_start / tls_coverage event (a batch without one sends
// tls_ns 0, which never is), so an older event arriving later, or a batch of other events, keeps the stored one.
#define CT_IF_NEWER_TLS(c) \
  c " = CASE WHEN excluded.tls_ns > workloads.tls_ns THEN excluded." c " ELSE workloads." c " END"
#define CT_WORKLOAD_COLUMNS \
  "INSERT INTO workloads (id, host, name, workload, first_ns, last_ns, events, tls, tls_coverage, tls_ns) "
#define CT_WORKLOAD_CONFLICT                                                                                   \
  " ON CONFLICT (id) DO UPDATE SET " CT_IF_NEWER("host") ", " CT_IF_NEWER("name") ", " CT_IF_NEWER("workload") \
  ", " CT_EARLIER("workloads", "first_ns") ", " CT_LATER("workloads", "last_ns") ", " CT_SUM("workloads", "events") \
  ", " CT_IF_NEWER_TLS("tls") ", " CT_IF_NEWER_TLS("tls_coverage") ", " CT_LATER("workloads", "tls_ns")

const BulkStatement kUpsertWorkloads{
    CT_WORKLOAD_COLUMNS,
    {"text", "text", "text", "bytea", "bigint", "bigint", "bigint", "bytea", "text", "bigint"},
    CT_WORKLOAD_CONFLICT};

const BulkStatement kInsertToolCalls{
    "INSERT INTO tool_calls (agent_id, call_id, workload_id, server_name, client_name, tool, method, transport, "
    "session_id, side, requester, outcome, error_code, has_error_code, no_answer, duration_ns, request_bytes, "
    "response_bytes, time_ns, event_id) ",
    {"text", "text", "text", "text", "text", "text", "text", "text", "text", "text", "text", "text", "bigint", "bigint",
     "text", "bigint", "bigint", "bigint", "bigint", "bigint"},
    " ON CONFLICT (agent_id, call_id) DO NOTHING RETURNING event_id"};

#define CT_CALL_CREDENTIAL_CONFLICT                                                                              \
  " ON CONFLICT (agent_id, call_id, fingerprint, via) DO UPDATE SET "                                            \
  "ambiguous = CASE WHEN excluded.ambiguous < tool_call_credentials.ambiguous THEN excluded.ambiguous "          \
  "ELSE tool_call_credentials.ambiguous END, " CT_NONEMPTY("tool_call_credentials", "type") ", "               \
  CT_NONEMPTY("tool_call_credentials", "preview") ", " CT_NONEMPTY("tool_call_credentials", "tool") ", "       \
  CT_NONEMPTY("tool_call_credentials", "server_name") ", " CT_FIRST_EVENT("tool_call_credentials") ", "        \
  CT_EARLIER("tool_call_credentials", "first_ns") ", " CT_LATER("tool_call_credentials", "last_ns") ", "       \
  CT_SUM("tool_call_credentials", "events")

const BulkStatement kUpsertCallCredentials{
    "INSERT INTO tool_call_credentials (agent_id, call_id, fingerprint, via, ambiguous, type, preview, tool, "
    "server_name, first_ns, last_ns, events, first_event) ",
    {"text", "text", "text", "text", "bigint", "text", "text", "text", "text", "bigint", "bigint", "bigint", "bigint"},
    CT_CALL_CREDENTIAL_CONFLICT};

const BulkStatement kInsertSessions{
    "INSERT INTO mcp_sessions (agent_id, workload_id, session_id, transport, side, protocol_version, client_name, "
    "client_version, server_name, server_version, time_ns, event_id) ",
    {"text", "text", "text", "text", "text", "text", "text", "text", "text", "text", "bigint", "bigint"},
    " ON CONFLICT (agent_id, workload_id, session_id) DO NOTHING"};

const char* const kLatestToolDefinition =
    "SELECT sha256, session_id, last_ns, last_event FROM tool_definitions WHERE workload_id = $1 AND "
    "server_name = $2 AND tool = $3 ORDER BY last_ns DESC, last_event DESC LIMIT 1";

#define CT_IF_LATER(t, c) c " = CASE WHEN excluded.last_ns >= " t ".last_ns THEN excluded." c " ELSE " t "." c " END"
const char* const kUpsertToolDefinition =
    "INSERT INTO tool_definitions (workload_id, server_name, tool, sha256, session_id, first_ns, last_ns, first_event, "
    "last_event) VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $7) ON CONFLICT (workload_id, server_name, tool, sha256) "
    "DO UPDATE SET " CT_IF_LATER("tool_definitions", "session_id") ", " CT_IF_LATER("tool_definitions", "last_event")
    ", " CT_FIRST_EVENT("tool_definitions") ", " CT_EARLIER("tool_definitions", "first_ns") ", "
    CT_LATER("tool_definitions", "last_ns");
#undef CT_IF_LATER
#undef CT_CALL_CREDENTIAL_CONFLICT

#undef CT_EARLIER
#undef CT_LATER
#undef CT_NONEMPTY
#undef CT_SUM
#undef CT_IF_NEWER
#undef CT_IF_NEWER_TLS
#undef CT_FIRST_EVENT
#undef CT_CREDENTIAL_COLUMNS
#undef CT_CREDENTIAL_CONFLICT
#undef CT_LINK_COLUMNS
#undef CT_LINK_CONFLICT
#undef CT_WORKLOAD_COLUMNS
#undef CT_WORKLOAD_CONFLICT

const char* const kSelectCredential =
    "SELECT fingerprint, type, preview, first_ns, last_ns, uses, exposures, events FROM credentials "
    "WHERE fingerprint = $1";

const char* const kKeyRanges =
    "SELECT first_id, last_id FROM event_keys WHERE kind = $1 AND value = $2 AND first_id < $3 "
    "ORDER BY first_id DESC LIMIT $4";

const char* const kPruneEventKeys =
    "DELETE FROM event_keys WHERE last_id < (SELECT COALESCE(MIN(id), (SELECT value FROM id_counters WHERE name = "
    "'event') + 1) FROM events)";

const char* const kPruneEventsChunk =
    "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE time_ns < $1 LIMIT 10000)";
const char* const kPruneBatches = "DELETE FROM batches WHERE received_ns < $1";
const char* const kPruneLinks = "DELETE FROM credential_links WHERE last_ns < $1";
const char* const kPruneCredentials = "DELETE FROM credentials WHERE last_ns < $1";
const char* const kPruneWorkloads = "DELETE FROM workloads WHERE last_ns < $1";
const char* const kPruneAlerts = "DELETE FROM alerts WHERE last_ns < $1";
const char* const kPruneEvidence = "DELETE FROM alert_evidence WHERE alert_id NOT IN (SELECT id FROM alerts)";
const char* const kPruneToolCalls = "DELETE FROM tool_calls WHERE time_ns < $1";
const char* const kPruneCallCredentials = "DELETE FROM tool_call_credentials WHERE last_ns < $1";
const char* const kPruneSessions = "DELETE FROM mcp_sessions WHERE time_ns < $1";
const char* const kPruneToolDefinitions = "DELETE FROM tool_definitions WHERE last_ns < $1";
const char* const kPruneWorkloadNames =
    "DELETE FROM workload_names WHERE workload_id NOT IN (SELECT id FROM workloads)";

}  // namespace sql

namespace {

// "VALUES ($1, ..., $columns), ($columns+1, ...), ..." for `rows` rows.
std::string values_sql(size_t rows, size_t columns) {
  std::string sql = "VALUES ";
  for (size_t row = 0; row < rows; ++row) {
    sql += row ? ", (" : "(";
    for (size_t column = 1; column <= columns; ++column)
      sql += (column > 1 ? ", $" : "$") + std::to_string(row * columns + column);
    sql += ")";
  }
  return sql;
}

// "$N, $N+1, ..." for `values`, appended to the query's parameters.
template <typename T>
std::string placeholders(SqlQuery& q, const std::vector<T>& values) {
  std::string text;
  for (size_t i = 0; i < values.size(); ++i) {
    q.params.push_back(values[i]);
    text += (i ? ", $" : "$") + std::to_string(q.params.size());
  }
  return text;
}

// Appends "AND <column> <op> $N" and its parameter.
void where(SqlQuery& q, const std::string& column, const char* op, SqlParam value) {
  q.params.push_back(std::move(value));
  q.sql += " AND " + column + " " + op + " $" + std::to_string(q.params.size());
}

// fingerprint = $N through events_fingerprint_prefix: its predicate and key spelt out, so both databases pick it, and
// the equality as prefix + rest (SQLite would rewrite the key expression with a plain "fingerprint = $N" to
// substr($N, 1, 16), which no index has, and scan every event).
void where_fingerprint(SqlQuery& q, const std::string& fingerprint) {
  q.params.push_back(fingerprint);
  std::string n = "$" + std::to_string(q.params.size());
  q.sql += " AND fingerprint <> '' AND substr(fingerprint, 1, 16) = substr(" + n + ", 1, 16)";
  q.sql += " AND substr(fingerprint, 17) = substr(" + n + ", 17)";
}

void limit(SqlQuery& q, int limit) {
  q.params.push_back(static_cast<int64_t>(limit) + 1);
  q.sql += " LIMIT $" + std::to_string(q.params.size());
}

// Appends "AND <column> IN ($N, ...)" and its parameters; SQL with more than one is built per call (not cached).
void where_in(SqlQuery& q, const std::string& column, const WorkloadIds& values) {
  q.sql += " AND " + column + " IN (" + placeholders(q, values) + ")";
  q.cacheable = q.cacheable && values.size() <= 1;
}

// The credential `fingerprint_column` names has a link of `kind` to one of `values`.
void where_linked(SqlQuery& q, const char* fingerprint_column, const char* kind, const WorkloadIds& values) {
  q.sql += std::string(" AND EXISTS (SELECT 1 FROM credential_links l WHERE l.fingerprint = ") + fingerprint_column +
           " AND l.kind = '" + kind + "'";
  where_in(q, "l.value", values);
  q.sql += ")";
}

// The alert is about one of the workloads (alerts.workload_id), or its credential was seen in one.
void where_alert_workload(SqlQuery& q, const WorkloadIds& workloads) {
  q.sql += " AND (a.workload_id IN (" + placeholders(q, workloads) + ") OR a.fingerprint <> ''";
  where_linked(q, "a.fingerprint", kLinkWorkload, workloads);
  q.sql += ")";
  q.cacheable = q.cacheable && workloads.size() <= 1;
}

// The event filters, and the cursor. `fingerprint_index`: spell the fingerprint condition out for the index.
void where_event(SqlQuery& q, const EventFilter& f, const WorkloadIds& workloads, bool fingerprint_index) {
  if (!f.type.empty()) where(q, "type", "=", f.type);
  if (!workloads.empty()) where_in(q, "workload_id", workloads);
  if (!f.host.empty()) where(q, "host", "=", f.host);
  if (!f.fingerprint.empty() && fingerprint_index) where_fingerprint(q, f.fingerprint);
  if (!f.fingerprint.empty() && !fingerprint_index) where(q, "fingerprint", "=", f.fingerprint);
  if (f.since_ns) where(q, "time_ns", ">=", *f.since_ns);
  if (f.until_ns) where(q, "time_ns", "<", *f.until_ns);
  if (f.before_id > 0) where(q, "id", "<", f.before_id);
  q.sql += " ORDER BY id DESC";
}

}  // namespace

Status for_each_chunk(size_t count, const std::function<Status(size_t from, size_t rows)>& run) {
  size_t from = 0;
  for (size_t chunk : kRowsPerStatement)
    for (; count - from >= chunk; from += chunk)
      if (Status s = run(from, chunk); !s.ok()) return s;
  return {};
}

std::string values_statement(const BulkStatement& statement, size_t rows) {
  return statement.insert + values_sql(rows, statement.types.size()) + statement.tail;
}

SqlQuery events_query(const EventFilter& f, const WorkloadIds& workloads) {
  SqlQuery q{"SELECT id, event FROM events WHERE 1 = 1", {}};
  where_event(q, f, workloads, true);
  limit(q, f.limit);
  return q;
}

SqlQuery range_events_query(const EventFilter& f, const WorkloadIds& workloads, int64_t first_id, int64_t last_id,
                            int max_rows) {
  SqlQuery q{"SELECT id, event FROM events WHERE id BETWEEN $1 AND $2", {first_id, last_id}};
  where_event(q, f, workloads, false);
  q.params.push_back(static_cast<int64_t>(max_rows));
  q.sql += " LIMIT $" + std::to_string(q.params.size());
  return q;
}

SqlQuery credentials_query(const CredentialFilter& f, const WorkloadIds& workloads) {
  SqlQuery q{"SELECT c.fingerprint, c.type, c.preview, c.first_ns, c.last_ns, c.uses, c.exposures, c.events "
             "FROM credentials c WHERE 1 = 1",
             {}};
  if (!f.after.empty()) where(q, "c.fingerprint", ">", f.after);
  if (!f.type.empty()) where(q, "c.type", "=", f.type);
  if (!workloads.empty()) where_linked(q, "c.fingerprint", kLinkWorkload, workloads);
  if (!f.host.empty()) where_linked(q, "c.fingerprint", kLinkHost, {f.host});
  q.sql += " ORDER BY c.fingerprint";
  limit(q, f.limit);
  return q;
}

SqlQuery links_query(const std::vector<std::string>& fingerprints, int per_kind) {
  SqlQuery q{"SELECT fingerprint, kind, value, first_ns, last_ns, events, uses, total FROM ("
             "SELECT l.fingerprint, l.kind, l.value, l.first_ns, l.last_ns, l.events, l.uses, "
             "ROW_NUMBER() OVER (PARTITION BY l.fingerprint, l.kind ORDER BY l.last_ns DESC, l.value) AS link_rank, "
             "COUNT(*) OVER (PARTITION BY l.fingerprint, l.kind) AS total "
             "FROM credential_links l WHERE l.fingerprint IN (",
             {}};
  q.sql += placeholders(q, fingerprints);
  q.params.push_back(static_cast<int64_t>(per_kind));
  q.sql += ")) ranked WHERE link_rank <= $" + std::to_string(q.params.size()) + " ORDER BY fingerprint, kind, link_rank";
  q.cacheable = fingerprints.size() == 1;
  return q;
}

SqlQuery workloads_query(const WorkloadFilter& f, const WorkloadIds& workloads) {
  SqlQuery q{"SELECT w.id, w.host, w.name, w.workload, w.first_ns, w.last_ns, w.events, "
             "(SELECT COUNT(*) FROM credential_links l WHERE l.kind = 'workload' AND l.value = w.id), "
             "w.tls, w.tls_coverage FROM workloads w WHERE 1 = 1",
             {}};
  if (!f.after.empty()) where(q, "w.id", ">", f.after);
  if (!f.host.empty()) where(q, "w.host", "=", f.host);
  if (f.tls_coverage) where(q, "w.tls_coverage", "=", *f.tls_coverage);
  if (!workloads.empty()) where_in(q, "w.id", workloads);
  q.sql += " ORDER BY w.id";
  limit(q, f.limit);
  return q;
}

SqlQuery alerts_query(const AlertFilter& f, const WorkloadIds& workloads) {
  SqlQuery q{"SELECT a.id, a.kind, a.fingerprint, a.subject, a.credential_type, a.detail, a.first_ns, a.last_ns, "
             "a.hits, a.evidence, COALESCE(c.preview, ''), "
             "(SELECT COUNT(*) FROM credential_links l WHERE l.fingerprint = a.fingerprint AND l.kind = 'workload'), "
             "(SELECT COUNT(*) FROM credential_links l WHERE l.fingerprint = a.fingerprint AND l.kind = 'host'), "
             "a.workload_id FROM alerts a LEFT JOIN credentials c ON c.fingerprint = a.fingerprint WHERE 1 = 1",
             {}};
  if (!f.kind.empty()) where(q, "a.kind", "=", f.kind);
  if (!f.fingerprint.empty()) where(q, "a.fingerprint", "=", f.fingerprint);
  if (!f.type.empty()) where(q, "a.credential_type", "=", f.type);
  if (f.since_ns) where(q, "a.last_ns", ">=", *f.since_ns);
  if (!workloads.empty()) where_alert_workload(q, workloads);
  if (f.before_id > 0) where(q, "a.id", "<", f.before_id);
  q.sql += " ORDER BY a.id DESC";
  limit(q, f.limit);
  return q;
}

SqlQuery tool_calls_query(const ToolCallFilter& f, const WorkloadIds& workloads) {
  SqlQuery q{"SELECT c.event_id, c.agent_id, c.call_id, c.workload_id, c.server_name, c.client_name, c.tool, c.method, "
             "c.transport, c.session_id, c.side, c.requester, c.outcome, c.no_answer, c.has_error_code, c.error_code, "
             "c.duration_ns, c.request_bytes, c.response_bytes, c.time_ns FROM tool_calls c WHERE 1 = 1",
             {}};
  if (!f.server.empty()) where(q, "c.server_name", "=", f.server);
  if (!f.tool.empty()) where(q, "c.tool", "=", f.tool);
  if (!f.client.empty()) where(q, "c.client_name", "=", f.client);
  if (!workloads.empty()) where_in(q, "c.workload_id", workloads);
  if (!f.outcome.empty()) where(q, "c.outcome", "=", f.outcome);
  if (!f.fingerprint.empty()) {
    q.sql += " AND EXISTS (SELECT 1 FROM tool_call_credentials l WHERE l.agent_id = c.agent_id AND "
             "l.call_id = c.call_id";
    where(q, "l.fingerprint", "=", f.fingerprint);
    q.sql += ")";
  }
  if (f.since_ns) where(q, "c.time_ns", ">=", *f.since_ns);
  if (f.until_ns) where(q, "c.time_ns", "<", *f.until_ns);
  if (f.before_id > 0) where(q, "c.event_id", "<", f.before_id);
  q.sql += " ORDER BY c.event_id DESC";
  limit(q, f.limit);
  return q;
}

SqlQuery call_credentials_query(const std::vector<int64_t>& call_event_ids) {
  SqlQuery q{"SELECT c.event_id, l.fingerprint, l.via, CASE WHEN l.type <> '' THEN l.type ELSE COALESCE(cr.type, '') "
             "END, CASE WHEN l.preview <> '' THEN l.preview ELSE COALESCE(cr.preview, '') END, l.ambiguous, l.events "
             "FROM tool_calls c JOIN tool_call_credentials l ON l.agent_id = c.agent_id AND l.call_id = c.call_id "
             "LEFT JOIN credentials cr ON cr.fingerprint = l.fingerprint WHERE c.event_id IN (",
             {}, false};
  q.sql += placeholders(q, call_event_ids) + ") ORDER BY c.event_id, l.fingerprint, l.via";
  return q;
}

SqlQuery credential_calls_query(const std::string& fingerprint, int max_rows) {
  return SqlQuery{
      "SELECT l.agent_id, l.call_id, l.via, CASE WHEN l.tool <> '' THEN l.tool ELSE COALESCE(c.tool, '') END, "
      "CASE WHEN l.server_name <> '' THEN l.server_name ELSE COALESCE(c.server_name, '') END, l.ambiguous, "
      "l.first_ns, l.last_ns, l.events, CASE WHEN c.call_id IS NULL THEN 0 ELSE 1 END, COALESCE(c.outcome, ''), "
      "COALESCE(c.method, ''), COALESCE(c.workload_id, ''), COALESCE(c.event_id, 0), COALESCE(c.time_ns, 0), "
      "COUNT(*) OVER () FROM tool_call_credentials l LEFT JOIN tool_calls c ON c.agent_id = l.agent_id AND "
      "c.call_id = l.call_id WHERE l.fingerprint = $1 ORDER BY l.last_ns DESC, l.call_id, l.via LIMIT $2",
      {fingerprint, static_cast<int64_t>(max_rows)}};
}

SqlQuery evidence_query(const std::vector<int64_t>& alert_ids) {
  SqlQuery q{"SELECT alert_id, event_id FROM alert_evidence WHERE alert_id IN (", {}, false};
  q.sql += placeholders(q, alert_ids) + ") ORDER BY alert_id, event_id";
  return q;
}

}  // namespace credtrace::collector
