// SQLite Store: one writer connection (WAL, serialized by a mutex) and a pool of read-only connections.
#include "store_sqlite.h"

#include <mutex>

#include "aggregate_writer.h"
#include "alert_writer.h"
#include "connection_pool.h"
#include "migrations.h"
#include "sql_reads.h"
#include "sqlite_db.h"
#include "sqlite_session.h"
#include "store_sql.h"

namespace credtrace::collector {
namespace {

class SqliteStore final : public Store {
 public:
  Status open(const std::string& path, const StoreOptions& options);
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
  Status configure_writer(bool sync_full);
  Status migrate();
  Status insert_events(int64_t batch_id, const BatchRows& batch, std::vector<int64_t>& ids);
  Status prune_step(const char* sql, int64_t cutoff_ns, uint64_t& deleted);
  // Runs `read` on a pooled read-only connection.
  template <typename Read>
  Status with_reader(Read read) {
    auto reader = readers_.acquire();
    SqliteSession session(*reader);
    return read(session);
  }

  std::mutex write_mutex_;
  std::unique_ptr<SqliteConnection> writer_;
  ConnectionPool<SqliteConnection> readers_;
  AlertConfig alert_config_;
};

Status SqliteStore::open(const std::string& path, const StoreOptions& options) {
  alert_config_ = options.alerts;
  if (Status s = SqliteConnection::open(path, false, writer_); !s.ok()) return s;
  if (Status s = configure_writer(options.sqlite_sync_full); !s.ok()) return s;
  if (Status s = migrate(); !s.ok()) return s;
  for (int i = 0; i < std::max(1, options.readers); ++i) {
    std::unique_ptr<SqliteConnection> reader;
    if (Status s = SqliteConnection::open(path, true, reader); !s.ok()) return s;
    if (Status s = reader->exec("PRAGMA cache_size = -32000"); !s.ok()) return s;
    readers_.add(std::move(reader));
  }
  return {};
}

Status SqliteStore::configure_writer(bool sync_full) {
  std::string journal;
  SqliteSession session(*writer_);
  Status status = session.run("PRAGMA journal_mode = WAL", {}, [&](const SqlRow& r) { journal = r.text_at(0); });
  if (!status.ok()) return status;
  if (journal != "wal") return Status::error("SQLite: cannot switch the database to WAL mode (got " + journal + ")");
  return writer_->exec(std::string("PRAGMA synchronous = ") + (sync_full ? "FULL" : "NORMAL") +
                       "; PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = 16384");
}

Status SqliteStore::migrate() {
  SqliteTransaction tx(*writer_);
  if (!tx.begin_status().ok()) return tx.begin_status();
  SqliteSession session(*writer_);
  if (Status s = apply_migrations(session, sqlite_migrations()); !s.ok()) return s;
  return tx.commit();
}

Status SqliteStore::ingest(const BatchRows& batch, IngestOutcome& out) {
  std::lock_guard lock(write_mutex_);
  SqliteTransaction tx(*writer_);
  if (!tx.begin_status().ok()) return tx.begin_status();
  SqliteSession session(*writer_);
  auto sequence = static_cast<int64_t>(batch.sequence);  // uint64 stored bit-for-bit in a signed column
  int64_t batch_id = 0;
  Status s = session.run(sql::kInsertBatch,
                         {batch.agent_id, sequence, batch.received_ns, static_cast<int64_t>(batch.events.size())},
                         [&](const SqlRow& row) { batch_id = row.int_at(0); });
  if (!s.ok()) return s;
  if (batch_id == 0) {
    out.duplicate = true;
    return session.run(sql::kSelectBatchEvents, {batch.agent_id, sequence},
                       [&](const SqlRow& row) { out.accepted = static_cast<uint64_t>(row.int_at(0)); });
  }
  std::vector<int64_t> ids;
  AggregateState aggregates;
  if (Status e = insert_events(batch_id, batch, ids); !e.ok()) return e;
  if (Status e = write_aggregates(session, batch, ids, aggregates); !e.ok()) return e;
  if (Status e = write_alerts(session, batch, ids, aggregates, alert_config_); !e.ok()) return e;
  if (Status e = tx.commit(); !e.ok()) return e;
  out.duplicate = false;
  out.accepted = batch.events.size();
  return {};
}

Status SqliteStore::insert_events(int64_t batch_id, const BatchRows& batch, std::vector<int64_t>& ids) {
  std::unique_ptr<SqliteStatement> st;
  if (Status s = writer_->prepare(sql::kInsertEvent, st); !s.ok()) return s;
  ids.reserve(batch.events.size());
  for (const auto& e : batch.events) {
    st->bind(1, batch_id), st->bind(2, e.type), st->bind(3, e.time_ns), st->bind(4, e.host);
    st->bind(5, e.agent_id), st->bind(6, e.workload_id), st->bind(7, e.fingerprint), st->bind_blob(8, e.payload);
    if (st->step() != SQLITE_DONE) return Status::error("SQLite insert event: " + writer_->error());
    st->reset();
    ids.push_back(writer_->last_insert_rowid());
  }
  return {};
}

Status SqliteStore::events(const EventFilter& filter, EventPage& out) {
  return with_reader([&](SqlSession& s) { return read_events(s, filter, out); });
}

Status SqliteStore::credentials(const CredentialFilter& filter, CredentialPage& out) {
  return with_reader([&](SqlSession& s) { return read_credentials(s, filter, out); });
}

Status SqliteStore::credential(const std::string& fingerprint, int links_per_kind,
                               std::optional<CredentialSummary>& out) {
  return with_reader([&](SqlSession& s) { return read_credential(s, fingerprint, links_per_kind, out); });
}

Status SqliteStore::workloads(const WorkloadFilter& filter, WorkloadPage& out) {
  return with_reader([&](SqlSession& s) { return read_workloads(s, filter, out); });
}

Status SqliteStore::alerts(const AlertFilter& filter, AlertPage& out) {
  return with_reader([&](SqlSession& s) { return read_alerts(s, filter, out); });
}

Status SqliteStore::prune_step(const char* sql, int64_t cutoff_ns, uint64_t& deleted) {
  std::lock_guard lock(write_mutex_);
  SqliteSession session(*writer_);
  if (Status s = session.run(sql, {cutoff_ns}); !s.ok()) return s;
  deleted = static_cast<uint64_t>(writer_->changes());
  return {};
}

Status SqliteStore::prune(int64_t cutoff_ns, PruneResult& out) {
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
  std::lock_guard lock(write_mutex_);
  SqliteSession session(*writer_);
  return session.run(sql::kPruneEvidence, {});
}

Status SqliteStore::ping() {
  return with_reader([](SqlSession& s) { return s.run("SELECT 1", {}); });
}

}  // namespace

Status open_sqlite_store(const std::string& path, const StoreOptions& options, std::unique_ptr<Store>& out) {
  auto store = std::make_unique<SqliteStore>();
  if (Status s = store->open(path, options); !s.ok()) return s;
  out = std::move(store);
  return {};
}

}  // namespace credtrace::collector
