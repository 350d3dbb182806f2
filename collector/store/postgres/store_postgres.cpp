// PostgreSQL Store (libpq): the same schema, migrations and SQL as SQLite, for collector replicas sharing one database.
//
// Every request leases a pooled connection. Ingest runs in one READ COMMITTED transaction: the batch row's unique
// (agent_id, sequence) makes a concurrent or replayed copy wait for the first and then store nothing; aggregate
// rows are locked in key order (credentials, links, workloads, alerts), and a deadlock or serialization failure is
// retried. Event ids are drawn from the sequence first, so the events go in as one array insert; the aggregates
// go in as one array upsert per table (per-row statements cost a round trip each).
#include "store/postgres/store_postgres.h"

#include <thread>

#include "store/batch_writer.h"
#include "store/connection_pool.h"
#include "store/migrations.h"
#include "store/postgres/pg_db.h"
#include "store/sql_store.h"
#include "store/store_sql.h"

namespace credtrace::collector {
namespace {

constexpr int kIngestAttempts = 4;
constexpr int64_t kMigrationLock = 0x63726564;  // pg_advisory_xact_lock key: one replica migrates at a time

const char* const kReserveEventIds =
    "SELECT nextval(pg_get_serial_sequence('events', 'id')) FROM generate_series(1, $1)";

bool is_retryable(const std::string& sqlstate) { return sqlstate == "40001" || sqlstate == "40P01"; }

// Event ids are drawn from the sequence first, so the events go in as one array insert; PostgreSQL keeps per-event
// indexes and has no event keys to write.
class PostgresIngest final : public IngestDialect {
 public:
  Status reserve_event_ids(SqlSession& session, size_t count, std::vector<int64_t>& ids) override {
    ids.clear();
    if (count == 0) return {};
    ids.reserve(count);
    return session.run(kReserveEventIds, {static_cast<int64_t>(count)},
                       [&](const SqlRow& row) { ids.push_back(row.int_at(0)); });
  }
  Status events_written(SqlSession&, const BatchRows&, const std::vector<int64_t>&) override { return {}; }
};

class PostgresStore final : public SqlStore {
 public:
  Status open(const std::string& url, const StoreOptions& options);
  Status ingest(const BatchRows& batch, IngestOutcome& out) override;

 protected:
  Status with_reader(const SessionWork& read) override;
  Status delete_rows(const char* sql, std::vector<SqlParam> params, uint64_t& deleted) override;

 private:
  Status migrate(PgConnection& connection);
  Status ingest_once(PgConnection& connection, const BatchRows& batch, IngestOutcome& out);
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
  PostgresIngest dialect;
  if (Status s = write_batch(session, dialect, batch, alert_config_, out); !s.ok()) return s;
  return tx.commit();
}

Status PostgresStore::with_reader(const SessionWork& read) {
  return with_connection([&](PgConnection& c) {
    PgSession session(c);
    return read(session);
  });
}

Status PostgresStore::delete_rows(const char* sql, std::vector<SqlParam> params, uint64_t& deleted) {
  return with_connection([&](PgConnection& c) {
    PgSession session(c);
    deleted = 0;
    std::string text = std::string(sql) + " RETURNING 1";
    return session.run(SqlQuery{text, params, false}, [&](const SqlRow&) { ++deleted; });
  });
}

}  // namespace

Status open_postgres_store(const std::string& url, const StoreOptions& options, std::unique_ptr<Store>& out) {
  return open_as<PostgresStore>(out, url, options);
}

}  // namespace credtrace::collector
