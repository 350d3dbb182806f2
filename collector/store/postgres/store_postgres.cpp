// PostgreSQL Store (libpq): the same schema, migrations and SQL as SQLite, for collector replicas sharing one database.
//
// Every request leases a pooled connection. Ingest runs in one READ COMMITTED transaction: the batch row's unique
// (agent_id, sequence) makes a concurrent or replayed copy wait for the first and then store nothing; aggregate
// rows are locked in key order (credentials, links, workloads, alerts), and a deadlock or serialization failure is
// retried. Event ids are drawn from the sequence first, so the events go in as one array insert; the aggregates
// go in as one array upsert per table (per-row statements cost a round trip each).
#include "store/postgres/store_postgres.h"

#include <thread>

#include "alerts/alert_writer.h"
#include "store/aggregate_writer.h"
#include "store/batch_claim.h"
#include "store/connection_pool.h"
#include "store/migrations.h"
#include "store/postgres/pg_aggregate_writer.h"
#include "store/postgres/pg_db.h"
#include "store/sql_reads.h"
#include "store/store_sql.h"

namespace credtrace::collector {
namespace {

constexpr int kIngestAttempts = 4;
constexpr int64_t kMigrationLock = 0x63726564;  // pg_advisory_xact_lock key: one replica migrates at a time

const char* const kReserveEventIds =
    "SELECT nextval(pg_get_serial_sequence('events', 'id')) FROM generate_series(1, $1)";
const char* const kInsertEventArrays =
    "INSERT INTO events (id, batch_id, type, time_ns, host, agent_id, workload_id, fingerprint, event) "
    "SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::text[], "
    "$7::text[], $8::text[], $9::bytea[])";

bool is_retryable(const std::string& sqlstate) { return sqlstate == "40001" || sqlstate == "40P01"; }

class PostgresStore final : public Store {
 public:
  Status open(const std::string& url, const StoreOptions& options);
  Status ingest(const BatchRows& batch, IngestOutcome& out) override;
  Status events(const EventFilter& filter, EventPage& out) override;
  Status credentials(const CredentialFilter& filter, CredentialPage& out) override;
  Status credential(const std::string& fingerprint, int links_per_kind,
                    std::optional<CredentialSummary>& out) override;
  Status workloads(const WorkloadFilter& filter, WorkloadPage& out) override;
  Status alerts(const AlertFilter& filter, AlertPage& out) override;
  Status prune(int64_t cutoff_ns, PruneResult& out) override;
  Status ping() override;

 private:
  Status migrate(PgConnection& connection);
  Status ingest_once(PgConnection& connection, const BatchRows& batch, IngestOutcome& out);
  Status insert_events(PgSession& session, int64_t batch_id, const BatchRows& batch, std::vector<int64_t>& ids);
  Status prune_step(const char* sql, int64_t cutoff_ns, uint64_t& deleted);
  // Runs `work` on a pooled connection; once more on a fresh connection when the server dropped this one (safe for
  // ingest too: a batch whose COMMIT did land is found by its (agent_id, sequence) and answered as a duplicate).
  template <typename Work>
  Status with_connection(Work work) {
    auto lease = pool_.acquire();
    Status status;
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (!lease->ensure_connected()) return Status::error("PostgreSQL connection lost and reconnecting failed");
      status = work(*lease);
      if (status.ok() || !lease->broken()) return status;
    }
    return status;
  }
  template <typename Read>
  Status with_reader(Read read) {
    return with_connection([&](PgConnection& c) {
      PgSession session(c);
      return read(session);
    });
  }

  ConnectionPool<PgConnection> pool_;
  AlertConfig alert_config_;
};

Status PostgresStore::open(const std::string& url, const StoreOptions& options) {
  alert_config_ = options.alerts;
  for (int i = 0; i < std::max(2, options.readers + 1); ++i) {
    std::unique_ptr<PgConnection> connection;
    if (Status s = PgConnection::open(url, connection); !s.ok()) return s;
    if (i == 0)
      if (Status s = migrate(*connection); !s.ok()) return s;
    pool_.add(std::move(connection));
  }
  return {};
}

Status PostgresStore::migrate(PgConnection& connection) {
  PgTransaction tx(connection);
  if (!tx.begin_status().ok()) return tx.begin_status();
  PgSession session(connection);
  if (Status s = session.run(SqlQuery{"SELECT pg_advisory_xact_lock($1)", {kMigrationLock}, false}, {}); !s.ok()) return s;
  if (Status s = apply_migrations(session, postgres_migrations()); !s.ok()) return s;
  return tx.commit();
}

Status PostgresStore::ingest(const BatchRows& batch, IngestOutcome& out) {
  return with_connection([&](PgConnection& connection) {
    Status status;
    for (int attempt = 1; attempt <= kIngestAttempts; ++attempt) {
      out = {};
      status = ingest_once(connection, batch, out);
      if (status.ok() || !is_retryable(connection.sqlstate())) return status;
      std::this_thread::sleep_for(std::chrono::milliseconds(5 * attempt));
    }
    return status;
  });
}

Status PostgresStore::ingest_once(PgConnection& connection, const BatchRows& batch, IngestOutcome& out) {
  PgTransaction tx(connection);
  if (!tx.begin_status().ok()) return tx.begin_status();
  PgSession session(connection);
  int64_t batch_id = 0;
  if (Status s = claim_batch(session, batch, out, batch_id); !s.ok() || batch_id == 0) return s;
  std::vector<int64_t> ids;
  AggregateState aggregates;
  if (Status e = insert_events(session, batch_id, batch, ids); !e.ok()) return e;
  if (Status e = pg_write_aggregates(session, batch, ids, aggregates); !e.ok()) return e;
  if (Status e = write_alerts(session, batch, ids, aggregates, alert_config_); !e.ok()) return e;
  if (Status e = tx.commit(); !e.ok()) return e;
  out.accepted = batch.events.size();
  return {};
}

Status PostgresStore::insert_events(PgSession& session, int64_t batch_id, const BatchRows& rows,
                                    std::vector<int64_t>& ids) {
  if (rows.events.empty()) return {};
  ids.reserve(rows.events.size());
  Status s = session.run(kReserveEventIds, {static_cast<int64_t>(rows.events.size())},
                         [&](const SqlRow& row) { ids.push_back(row.int_at(0)); });
  if (!s.ok()) return s;
  if (ids.size() != rows.events.size()) return Status::error("PostgreSQL: could not reserve event ids");
  PgArray id, batch, type, time, host, agent, workload, fingerprint, payload;
  for (size_t i = 0; i < rows.events.size(); ++i) {
    const EventRow& e = rows.events[i];
    id.add(ids[i]), batch.add(batch_id), type.add(e.type), time.add(e.time_ns), host.add(e.host);
    agent.add(e.agent_id), workload.add(e.workload_id), fingerprint.add(e.fingerprint), payload.add_bytea(e.payload);
  }
  return session.run(kInsertEventArrays, {id.param(), batch.param(), type.param(), time.param(), host.param(),
                                          agent.param(), workload.param(), fingerprint.param(), payload.param()});
}

Status PostgresStore::events(const EventFilter& filter, EventPage& out) {
  return with_reader([&](SqlSession& s) { return read_events(s, filter, out); });
}

Status PostgresStore::credentials(const CredentialFilter& filter, CredentialPage& out) {
  return with_reader([&](SqlSession& s) { return read_credentials(s, filter, out); });
}

Status PostgresStore::credential(const std::string& fingerprint, int links_per_kind,
                                 std::optional<CredentialSummary>& out) {
  return with_reader([&](SqlSession& s) { return read_credential(s, fingerprint, links_per_kind, out); });
}

Status PostgresStore::workloads(const WorkloadFilter& filter, WorkloadPage& out) {
  return with_reader([&](SqlSession& s) { return read_workloads(s, filter, out); });
}

Status PostgresStore::alerts(const AlertFilter& filter, AlertPage& out) {
  return with_reader([&](SqlSession& s) { return read_alerts(s, filter, out); });
}

Status PostgresStore::prune_step(const char* sql, int64_t cutoff_ns, uint64_t& deleted) {
  return with_connection([&](PgConnection& c) {
    PgSession session(c);
    deleted = 0;
    std::string text = std::string(sql) + " RETURNING 1";
    return session.run(SqlQuery{text, {cutoff_ns}, false}, [&](const SqlRow&) { ++deleted; });
  });
}

Status PostgresStore::prune(int64_t cutoff_ns, PruneResult& out) {
  out = {};
  uint64_t chunk = 0;
  do {  // small transactions: ingest goes on between chunks
    if (Status s = prune_step(sql::kPruneEventsChunk, cutoff_ns, chunk); !s.ok()) return s;
    out.events += chunk;
  } while (chunk > 0);
  if (Status s = prune_step(sql::kPruneBatches, cutoff_ns, out.batches); !s.ok()) return s;
  if (Status s = prune_step(sql::kPruneLinks, cutoff_ns, out.links); !s.ok()) return s;
  if (Status s = prune_step(sql::kPruneCredentials, cutoff_ns, out.credentials); !s.ok()) return s;
  if (Status s = prune_step(sql::kPruneWorkloads, cutoff_ns, out.workloads); !s.ok()) return s;
  if (Status s = prune_step(sql::kPruneAlerts, cutoff_ns, out.alerts); !s.ok()) return s;
  return with_reader([](SqlSession& s) { return s.run(sql::kPruneEvidence, {}); });
}

Status PostgresStore::ping() {
  return with_reader([](SqlSession& s) { return s.run("SELECT 1", {}); });
}

}  // namespace

Status open_postgres_store(const std::string& url, const StoreOptions& options, std::unique_ptr<Store>& out) {
  auto store = std::make_unique<PostgresStore>();
  if (Status s = store->open(url, options); !s.ok()) return s;
  out = std::move(store);
  return {};
}

}  // namespace credtrace::collector
