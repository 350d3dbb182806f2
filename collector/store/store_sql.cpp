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
    "INSERT INTO alerts (kind, fingerprint, subject, credential_type, detail, first_ns, last_ns, hits, evidence) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0) ON CONFLICT (kind, fingerprint, subject) DO UPDATE SET "
    CT_NONEMPTY("alerts", "credential_type") ", "
    "detail = CASE WHEN excluded.last_ns >= alerts.last_ns THEN excluded.detail ELSE alerts.detail END, "
    CT_EARLIER("alerts", "first_ns") ", " CT_LATER("alerts", "last_ns") ", " CT_SUM("alerts", "hits")
    " RETURNING id, evidence";

const char* const kInsertEvidence =
    "INSERT INTO alert_evidence (alert_id, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING event_id";

const char* const kAddEvidenceCount = "UPDATE alerts SET evidence = evidence + $2 WHERE id = $1";

#define CT_IF_NEWER(c) c " = CASE WHEN excluded.last_ns >= workloads.last_ns THEN excluded." c " ELSE workloads." c " END"
#define CT_WORKLOAD_COLUMNS "INSERT INTO workloads (id, host, name, workload, first_ns, last_ns, events) "
#define CT_WORKLOAD_CONFLICT                                                                                   \
  " ON CONFLICT (id) DO UPDATE SET " CT_IF_NEWER("host") ", " CT_IF_NEWER("name") ", " CT_IF_NEWER("workload") \
  ", " CT_EARLIER("workloads", "first_ns") ", " CT_LATER("workloads", "last_ns") ", " CT_SUM("workloads", "events")

const BulkStatement kUpsertWorkloads{
    CT_WORKLOAD_COLUMNS, {"text", "text", "text", "bytea", "bigint", "bigint", "bigint"}, CT_WORKLOAD_CONFLICT};

#undef CT_EARLIER
#undef CT_LATER
#undef CT_NONEMPTY
#undef CT_SUM
#undef CT_IF_NEWER
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
  q.sql += " AND " + column + " IN (";
  for (size_t i = 0; i < values.size(); ++i) {
    q.params.push_back(values[i]);
    q.sql += (i ? ", $" : "$") + std::to_string(q.params.size());
  }
  q.sql += ")";
  q.cacheable = q.cacheable && values.size() <= 1;
}

// The credential `fingerprint_column` names has a link of `kind` to one of `values`.
void where_linked(SqlQuery& q, const char* fingerprint_column, const char* kind, const WorkloadIds& values) {
  q.sql += std::string(" AND EXISTS (SELECT 1 FROM credential_links l WHERE l.fingerprint = ") + fingerprint_column +
           " AND l.kind = '" + kind + "'";
  where_in(q, "l.value", values);
  q.sql += ")";
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
  for (size_t i = 0; i < fingerprints.size(); ++i) {
    q.params.push_back(fingerprints[i]);
    q.sql += (i ? ", $" : "$") + std::to_string(q.params.size());
  }
  q.params.push_back(static_cast<int64_t>(per_kind));
  q.sql += ")) ranked WHERE link_rank <= $" + std::to_string(q.params.size()) + " ORDER BY fingerprint, kind, link_rank";
  q.cacheable = fingerprints.size() == 1;
  return q;
}

SqlQuery workloads_query(const WorkloadFilter& f, const WorkloadIds& workloads) {
  SqlQuery q{"SELECT w.id, w.host, w.name, w.workload, w.first_ns, w.last_ns, w.events, "
             "(SELECT COUNT(*) FROM credential_links l WHERE l.kind = 'workload' AND l.value = w.id) "
             "FROM workloads w WHERE 1 = 1",
             {}};
  if (!f.after.empty()) where(q, "w.id", ">", f.after);
  if (!f.host.empty()) where(q, "w.host", "=", f.host);
  if (!workloads.empty()) where_in(q, "w.id", workloads);
  q.sql += " ORDER BY w.id";
  limit(q, f.limit);
  return q;
}

SqlQuery alerts_query(const AlertFilter& f, const WorkloadIds& workloads) {
  SqlQuery q{"SELECT a.id, a.kind, a.fingerprint, a.subject, a.credential_type, a.detail, a.first_ns, a.last_ns, "
             "a.hits, a.evidence, COALESCE(c.preview, ''), "
             "(SELECT COUNT(*) FROM credential_links l WHERE l.fingerprint = a.fingerprint AND l.kind = 'workload'), "
             "(SELECT COUNT(*) FROM credential_links l WHERE l.fingerprint = a.fingerprint AND l.kind = 'host') "
             "FROM alerts a LEFT JOIN credentials c ON c.fingerprint = a.fingerprint WHERE 1 = 1",
             {}};
  if (!f.kind.empty()) where(q, "a.kind", "=", f.kind);
  if (!f.fingerprint.empty()) where(q, "a.fingerprint", "=", f.fingerprint);
  if (!f.type.empty()) where(q, "a.credential_type", "=", f.type);
  if (f.since_ns) where(q, "a.last_ns", ">=", *f.since_ns);
  if (!workloads.empty()) where_linked(q, "a.fingerprint", kLinkWorkload, workloads);
  if (f.before_id > 0) where(q, "a.id", "<", f.before_id);
  q.sql += " ORDER BY a.id DESC";
  limit(q, f.limit);
  return q;
}

SqlQuery evidence_query(const std::vector<int64_t>& alert_ids) {
  SqlQuery q{"SELECT alert_id, event_id FROM alert_evidence WHERE alert_id IN (", {}, false};
  for (size_t i = 0; i < alert_ids.size(); ++i) {
    q.params.push_back(alert_ids[i]);
    q.sql += (i ? ", $" : "$") + std::to_string(q.params.size());
  }
  q.sql += ") ORDER BY alert_id, event_id";
  return q;
}

}  // namespace credtrace::collector
