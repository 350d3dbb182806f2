// SQLite Store: one writer connection (WAL, serialized by a mutex) and a pool of read-only connections.
#include "store_sqlite.h"

#include <functional>
#include <mutex>

#include "connection_pool.h"
#include "migrations.h"
#include "sqlite_db.h"
#include "store_sql.h"
#include "time_util.h"

namespace credtrace::collector {
namespace {

using Row = std::function<void(SqliteStatement&)>;

Status failure(SqliteConnection& connection, const std::string& what) {
  return Status::error("SQLite " + what + ": " + connection.error());
}

void bind_all(SqliteStatement& stmt, const std::vector<SqlParam>& params) {
  for (size_t i = 0; i < params.size(); ++i) {
    int index = static_cast<int>(i + 1);
    if (params[i].is_text) stmt.bind(index, params[i].text);
    else stmt.bind(index, params[i].number);
  }
}

// Runs `query`, calling `row` for each result row.
Status run(SqliteConnection& connection, const SqlQuery& query, const Row& row, bool cache = true) {
  std::unique_ptr<SqliteStatement> stmt;
  if (Status status = connection.prepare(query.sql, stmt, cache); !status.ok()) return status;
  bind_all(*stmt, query.params);
  int rc;
  while ((rc = stmt->step()) == SQLITE_ROW)
    if (row) row(*stmt);
  return rc == SQLITE_DONE ? Status() : failure(connection, "query");
}

Status run_params(SqliteConnection& connection, const char* sql, std::vector<SqlParam> params, const Row& row = {}) {
  return run(connection, SqlQuery{sql, std::move(params)}, row);
}

CredentialSummary credential_from(SqliteStatement& s) {
  return CredentialSummary{s.text_at(0), s.text_at(1), s.text_at(2), s.int_at(3), s.int_at(4),
                           s.int_at(5),  s.int_at(6),  s.int_at(7),  {}};
}

class SqliteStore final : public Store {
 public:
  Status open(const std::string& path, const StoreOptions& options);
  Status ingest(const BatchRows& batch, IngestOutcome& out) override;
  Status events(const EventFilter& filter, EventPage& out) override;
  Status credentials(const CredentialFilter& filter, CredentialPage& out) override;
  Status credential(const std::string& fingerprint, int links_per_kind,
                    std::optional<CredentialSummary>& out) override;
  Status workloads(const WorkloadFilter& filter, WorkloadPage& out) override;
  Status prune(int64_t cutoff_ns, PruneResult& out) override;
  Status ping() override;

 private:
  Status configure_writer(bool sync_full);
  Status migrate();
  Status insert_events(int64_t batch_id, const BatchRows& batch);
  Status upsert_aggregates(const BatchRows& batch);
  Status prune_step(const char* sql, int64_t cutoff_ns, uint64_t& deleted);
  Status attach_links(SqliteConnection& reader, std::vector<CredentialSummary>& credentials, int per_kind);

  std::mutex write_mutex_;
  std::unique_ptr<SqliteConnection> writer_;
  ConnectionPool<SqliteConnection> readers_;
};

Status SqliteStore::open(const std::string& path, const StoreOptions& options) {
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
  Status status = run_params(*writer_, "PRAGMA journal_mode = WAL", {}, [&](SqliteStatement& s) { journal = s.text_at(0); });
  if (!status.ok()) return status;
  if (journal != "wal") return Status::error("SQLite: cannot switch the database to WAL mode (got " + journal + ")");
  return writer_->exec(std::string("PRAGMA synchronous = ") + (sync_full ? "FULL" : "NORMAL") +
                       "; PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = 16384");
}

Status SqliteStore::migrate() {
  if (Status s = writer_->exec(kMigrationsTable); !s.ok()) return s;
  SqliteTransaction tx(*writer_);
  if (!tx.begin_status().ok()) return tx.begin_status();
  int64_t current = 0;
  Status s = run_params(*writer_, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", {},
                        [&](SqliteStatement& row) { current = row.int_at(0); });
  if (!s.ok()) return s;
  const auto& migrations = sqlite_migrations();
  if (current > migrations.back().version)
    return Status::error("database schema version " + std::to_string(current) + " is newer than this collector's (" +
                         std::to_string(migrations.back().version) + ")");
  for (const auto& migration : migrations) {
    if (migration.version <= current) continue;
    for (const auto& statement : migration.statements)
      if (Status e = writer_->exec(statement); !e.ok()) return Status::error("migration " + migration.name + ": " + e.message());
    s = run_params(*writer_, "INSERT INTO schema_migrations (version, name, applied_ns) VALUES ($1, $2, $3)",
                   {int64_t{migration.version}, migration.name, now_ns()});
    if (!s.ok()) return s;
  }
  return tx.commit();
}

Status SqliteStore::ingest(const BatchRows& batch, IngestOutcome& out) {
  std::lock_guard lock(write_mutex_);
  SqliteTransaction tx(*writer_);
  if (!tx.begin_status().ok()) return tx.begin_status();
  auto sequence = static_cast<int64_t>(batch.sequence);  // uint64 stored bit-for-bit in a signed column
  int64_t batch_id = 0;
  Status s = run_params(*writer_, sql::kInsertBatch,
                        {batch.agent_id, sequence, batch.received_ns, static_cast<int64_t>(batch.events.size())},
                        [&](SqliteStatement& row) { batch_id = row.int_at(0); });
  if (!s.ok()) return s;
  if (batch_id == 0) {
    out.duplicate = true;
    return run_params(*writer_, sql::kSelectBatchEvents, {batch.agent_id, sequence},
                      [&](SqliteStatement& row) { out.accepted = static_cast<uint64_t>(row.int_at(0)); });
  }
  if (Status e = insert_events(batch_id, batch); !e.ok()) return e;
  if (Status e = upsert_aggregates(batch); !e.ok()) return e;
  if (Status e = tx.commit(); !e.ok()) return e;
  out.duplicate = false;
  out.accepted = batch.events.size();
  return {};
}

Status SqliteStore::insert_events(int64_t batch_id, const BatchRows& batch) {
  std::unique_ptr<SqliteStatement> st;
  if (Status s = writer_->prepare(sql::kInsertEvent, st); !s.ok()) return s;
  for (const auto& e : batch.events) {
    st->bind(1, batch_id), st->bind(2, e.type), st->bind(3, e.time_ns), st->bind(4, e.host);
    st->bind(5, e.agent_id), st->bind(6, e.workload_id), st->bind(7, e.fingerprint), st->bind_blob(8, e.payload);
    if (st->step() != SQLITE_DONE) return failure(*writer_, "insert event");
    st->reset();
  }
  return {};
}

Status SqliteStore::upsert_aggregates(const BatchRows& batch) {
  for (const auto& c : batch.credentials)
    if (Status s = run_params(*writer_, sql::kUpsertCredential,
                              {c.fingerprint, c.type, c.preview, c.first_ns, c.last_ns, c.uses, c.exposures, c.events});
        !s.ok())
      return s;
  for (const auto& l : batch.links)
    if (Status s = run_params(*writer_, sql::kUpsertLink,
                              {l.fingerprint, l.kind, l.value, l.first_ns, l.last_ns, l.events, l.uses});
        !s.ok())
      return s;
  std::unique_ptr<SqliteStatement> st;
  if (Status s = writer_->prepare(sql::kUpsertWorkload, st); !s.ok()) return s;
  for (const auto& w : batch.workloads) {
    st->bind(1, w.id), st->bind(2, w.host), st->bind(3, w.name), st->bind_blob(4, w.payload);
    st->bind(5, w.first_ns), st->bind(6, w.last_ns), st->bind(7, w.events);
    if (st->step() != SQLITE_DONE) return failure(*writer_, "upsert workload");
    st->reset();
  }
  return {};
}

Status SqliteStore::events(const EventFilter& filter, EventPage& out) {
  auto reader = readers_.acquire();
  out = {};
  Status s = run(*reader, events_query(filter), [&](SqliteStatement& row) {
    out.events.push_back(StoredEvent{row.int_at(0), row.blob_at(1)});
  });
  if (!s.ok()) return s;
  if (out.events.size() > static_cast<size_t>(filter.limit)) {
    out.events.pop_back();
    out.next_before_id = out.events.back().id;
  }
  return {};
}

Status SqliteStore::attach_links(SqliteConnection& reader, std::vector<CredentialSummary>& credentials, int per_kind) {
  if (credentials.empty()) return {};
  std::vector<std::string> fingerprints;
  std::map<std::string, CredentialSummary*> by_fingerprint;
  for (auto& c : credentials) fingerprints.push_back(c.fingerprint), by_fingerprint[c.fingerprint] = &c;
  return run(reader, links_query(fingerprints, per_kind), [&](SqliteStatement& row) {
    auto it = by_fingerprint.find(row.text_at(0));
    if (it == by_fingerprint.end()) return;
    LinkGroup& group = it->second->links[row.text_at(1)];
    group.total = row.int_at(7);
    group.items.push_back(LinkSummary{row.text_at(2), row.int_at(3), row.int_at(4), row.int_at(5), row.int_at(6)});
  }, /*cache=*/fingerprints.size() == 1);
}

Status SqliteStore::credentials(const CredentialFilter& filter, CredentialPage& out) {
  auto reader = readers_.acquire();
  out = {};
  Status s = run(*reader, credentials_query(filter),
                 [&](SqliteStatement& row) { out.credentials.push_back(credential_from(row)); });
  if (!s.ok()) return s;
  if (out.credentials.size() > static_cast<size_t>(filter.limit)) {
    out.credentials.pop_back();
    out.next_after = out.credentials.back().fingerprint;
  }
  return attach_links(*reader, out.credentials, filter.links_per_kind);
}

Status SqliteStore::credential(const std::string& fingerprint, int links_per_kind,
                               std::optional<CredentialSummary>& out) {
  auto reader = readers_.acquire();
  std::vector<CredentialSummary> found;
  Status s = run_params(*reader, sql::kSelectCredential, {fingerprint},
                        [&](SqliteStatement& row) { found.push_back(credential_from(row)); });
  if (!s.ok()) return s;
  if (Status e = attach_links(*reader, found, links_per_kind); !e.ok()) return e;
  out = found.empty() ? std::nullopt : std::optional<CredentialSummary>(std::move(found.front()));
  return {};
}

Status SqliteStore::workloads(const WorkloadFilter& filter, WorkloadPage& out) {
  auto reader = readers_.acquire();
  out = {};
  Status s = run(*reader, workloads_query(filter), [&](SqliteStatement& row) {
    out.workloads.push_back(WorkloadSummary{row.text_at(0), row.text_at(1), row.text_at(2), row.blob_at(3),
                                            row.int_at(4), row.int_at(5), row.int_at(6), row.int_at(7)});
  });
  if (!s.ok()) return s;
  if (out.workloads.size() > static_cast<size_t>(filter.limit)) {
    out.workloads.pop_back();
    out.next_after = out.workloads.back().id;
  }
  return {};
}

Status SqliteStore::prune_step(const char* sql, int64_t cutoff_ns, uint64_t& deleted) {
  std::lock_guard lock(write_mutex_);
  if (Status s = run_params(*writer_, sql, {cutoff_ns}); !s.ok()) return s;
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
  return prune_step(sql::kPruneWorkloads, cutoff_ns, out.workloads);
}

Status SqliteStore::ping() {
  auto reader = readers_.acquire();
  return run_params(*reader, "SELECT 1", {});
}

}  // namespace

Status open_sqlite_store(const std::string& path, const StoreOptions& options, std::unique_ptr<Store>& out) {
  auto store = std::make_unique<SqliteStore>();
  if (Status s = store->open(path, options); !s.ok()) return s;
  out = std::move(store);
  return {};
}

}  // namespace credtrace::collector
