// SQL shared by the SQLite and PostgreSQL stores ($N placeholders, portable upserts) and the query builders.
#include "store_sql.h"

namespace credtrace::collector {
namespace sql {

const char* const kInsertBatch =
    "INSERT INTO batches (agent_id, sequence, received_ns, events) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (agent_id, sequence) DO NOTHING RETURNING id";

const char* const kSelectBatchEvents = "SELECT events FROM batches WHERE agent_id = $1 AND sequence = $2";

const char* const kInsertEvent =
    "INSERT INTO events (batch_id, type, time_ns, host, agent_id, workload_id, fingerprint, event) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

// Portable min/max (SQLite has min(a,b), PostgreSQL LEAST/GREATEST): CASE expressions.
#define CT_EARLIER(t, c) c " = CASE WHEN excluded." c " < " t "." c " THEN excluded." c " ELSE " t "." c " END"
#define CT_LATER(t, c) c " = CASE WHEN excluded." c " > " t "." c " THEN excluded." c " ELSE " t "." c " END"
#define CT_NONEMPTY(t, c) c " = CASE WHEN excluded." c " <> '' THEN excluded." c " ELSE " t "." c " END"
#define CT_SUM(t, c) c " = " t "." c " + excluded." c

const char* const kUpsertCredential =
    "INSERT INTO credentials (fingerprint, type, preview, first_ns, last_ns, uses, exposures, events) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (fingerprint) DO UPDATE SET "
    CT_NONEMPTY("credentials", "type") ", " CT_NONEMPTY("credentials", "preview") ", "
    CT_EARLIER("credentials", "first_ns") ", " CT_LATER("credentials", "last_ns") ", "
    CT_SUM("credentials", "uses") ", " CT_SUM("credentials", "exposures") ", " CT_SUM("credentials", "events");

const char* const kUpsertLink =
    "INSERT INTO credential_links (fingerprint, kind, value, first_ns, last_ns, events, uses) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (fingerprint, kind, value) DO UPDATE SET "
    CT_EARLIER("credential_links", "first_ns") ", " CT_LATER("credential_links", "last_ns") ", "
    CT_SUM("credential_links", "events") ", " CT_SUM("credential_links", "uses");

#define CT_IF_NEWER(c) c " = CASE WHEN excluded.last_ns >= workloads.last_ns THEN excluded." c " ELSE workloads." c " END"
const char* const kUpsertWorkload =
    "INSERT INTO workloads (id, host, name, workload, first_ns, last_ns, events) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO UPDATE SET "
    CT_IF_NEWER("host") ", " CT_IF_NEWER("name") ", " CT_IF_NEWER("workload") ", "
    CT_EARLIER("workloads", "first_ns") ", " CT_LATER("workloads", "last_ns") ", " CT_SUM("workloads", "events");

#undef CT_EARLIER
#undef CT_LATER
#undef CT_NONEMPTY
#undef CT_SUM
#undef CT_IF_NEWER

const char* const kSelectCredential =
    "SELECT fingerprint, type, preview, first_ns, last_ns, uses, exposures, events FROM credentials "
    "WHERE fingerprint = $1";

const char* const kPruneEventsChunk =
    "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE time_ns < $1 LIMIT 10000)";
const char* const kPruneBatches = "DELETE FROM batches WHERE received_ns < $1";
const char* const kPruneLinks = "DELETE FROM credential_links WHERE last_ns < $1";
const char* const kPruneCredentials = "DELETE FROM credentials WHERE last_ns < $1";
const char* const kPruneWorkloads = "DELETE FROM workloads WHERE last_ns < $1";

}  // namespace sql

namespace {

// Appends "AND <column> <op> $N" and its parameter.
void where(SqlQuery& q, const std::string& column, const char* op, SqlParam value) {
  q.params.push_back(std::move(value));
  q.sql += " AND " + column + " " + op + " $" + std::to_string(q.params.size());
}

void limit(SqlQuery& q, int limit) {
  q.params.push_back(static_cast<int64_t>(limit) + 1);
  q.sql += " LIMIT $" + std::to_string(q.params.size());
}

// credential c has a link (kind, value)
void where_linked(SqlQuery& q, const char* kind, const std::string& value) {
  q.params.push_back(value);
  q.sql += std::string(" AND EXISTS (SELECT 1 FROM credential_links l WHERE l.fingerprint = c.fingerprint AND ") +
           "l.kind = '" + kind + "' AND l.value = $" + std::to_string(q.params.size()) + ")";
}

}  // namespace

SqlQuery events_query(const EventFilter& f) {
  SqlQuery q{"SELECT id, event FROM events WHERE 1 = 1", {}};
  if (!f.type.empty()) where(q, "type", "=", f.type);
  if (!f.workload.empty()) where(q, "workload_id", "=", f.workload);
  if (!f.host.empty()) where(q, "host", "=", f.host);
  if (!f.fingerprint.empty()) where(q, "fingerprint", "=", f.fingerprint);
  if (f.since_ns) where(q, "time_ns", ">=", *f.since_ns);
  if (f.until_ns) where(q, "time_ns", "<", *f.until_ns);
  if (f.before_id > 0) where(q, "id", "<", f.before_id);
  q.sql += " ORDER BY id DESC";
  limit(q, f.limit);
  return q;
}

SqlQuery credentials_query(const CredentialFilter& f) {
  SqlQuery q{"SELECT c.fingerprint, c.type, c.preview, c.first_ns, c.last_ns, c.uses, c.exposures, c.events "
             "FROM credentials c WHERE 1 = 1",
             {}};
  if (!f.after.empty()) where(q, "c.fingerprint", ">", f.after);
  if (!f.type.empty()) where(q, "c.type", "=", f.type);
  if (!f.workload.empty()) where_linked(q, kLinkWorkload, f.workload);
  if (!f.host.empty()) where_linked(q, kLinkHost, f.host);
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
  return q;
}

SqlQuery workloads_query(const WorkloadFilter& f) {
  SqlQuery q{"SELECT w.id, w.host, w.name, w.workload, w.first_ns, w.last_ns, w.events, "
             "(SELECT COUNT(*) FROM credential_links l WHERE l.kind = 'workload' AND l.value = w.id) "
             "FROM workloads w WHERE 1 = 1",
             {}};
  if (!f.after.empty()) where(q, "w.id", ">", f.after);
  if (!f.host.empty()) where(q, "w.host", "=", f.host);
  q.sql += " ORDER BY w.id";
  limit(q, f.limit);
  return q;
}

}  // namespace credtrace::collector
