// SQLite Store: the writer (group commit), background checkpoints and a pool of read-only connections.
// One writer connection (WAL) fed by a group-commit thread, a checkpoint thread with its own connection.
#include "store/sqlite/store_sqlite.h"

#include <mutex>

#include "store/connection_pool.h"
#include "store/migrations.h"
#include "store/sql_store.h"
#include "store/sqlite/group_commit.h"
#include "store/sqlite/sqlite_checkpointer.h"
#include "store/sqlite/sqlite_db.h"
#include "store/sqlite/sqlite_event_keys.h"
#include "store/sqlite/sqlite_ingest.h"
#include "store/sqlite/sqlite_session.h"
#include "store/store_sql.h"

namespace credtrace::collector {
namespace {

constexpr size_t kMaxGroupEvents = 20000;  // events per group commit (at least one batch)
// The writer's page cache, in KiB. Not larger: every commit that split a b-tree page walks the whole cache. (SQLite's
// balancing renumbers a page through a number past the end of the file, the lock-byte page, 262145 with 4 KiB pages,
// seen with gdb; the commit then drops every cached page above the file's size by scanning all of them.) With 64 MiB
// that scan was 8-12% of the writer's samples (perf); a quarter of the cache makes it a quarter as long. Writer CPU
// per event, 64 vs 16 MiB, alternating runs: 6.7 vs 5.7-5.9 us in one pair, equal within noise in another.
constexpr int kWriterCacheKiB = 16000;
constexpr int kBackgroundCheckpointPages = 4096;  // the checkpoint thread copies WAL frames past 16 MiB (4 KiB pages)
constexpr int kWriterCheckpointPages = 16384;     // past 64 MiB the writer copies the rest, so the WAL starts over

class SqliteStore final : public SqlStore {
 public:
  SqliteStore() = default;
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;
  Status open(const std::string& path, const StoreOptions& options);
  Status ingest(const BatchRows& batch, IngestOutcome& out) override;

 protected:
  // A pooled read-only connection.
  Status with_reader(const SessionWork& read) override;
  // The writer connection, between group commits.
  Status delete_rows(const char* sql, std::vector<SqlParam> params, uint64_t& deleted) override;
  Status read_event_page(SqlSession& session, const EventFilter& filter, EventPage& out) override;
  std::vector<const char*> prune_cleanup() const override;

 private:
  Status configure_writer(bool sync_full);
  Status migrate();
  Status start_checkpointer(const std::string& path, bool sync_full);
  void write_group(std::vector<IngestJob*>& group);

  std::mutex write_mutex_;  // the writer connection: group commits and retention take turns
  std::unique_ptr<SqliteConnection> writer_;
  ConnectionPool<SqliteConnection> readers_;
  AlertConfig alert_config_;
  std::unique_ptr<SqliteCheckpointer> checkpointer_;
  std::unique_ptr<GroupCommit> group_commit_;  // last: stopped first, before the connections close
};

std::string synchronous_pragma(bool sync_full) {
  return std::string("PRAGMA synchronous = ") + (sync_full ? "FULL" : "NORMAL");
}

SqliteStore::~SqliteStore() {
  group_commit_.reset();  // writes what is queued
  if (writer_) writer_->on_wal_commit({});  // the checkpointer goes next
}

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
  if (Status s = start_checkpointer(path, options.sqlite_sync_full); !s.ok()) return s;
  group_commit_ = std::make_unique<GroupCommit>([this](std::vector<IngestJob*>& group) { write_group(group); },
                                                kMaxGroupEvents);
  return {};
}

// Checkpoints copy WAL frames into the database, mostly on the checkpoint thread while the writer goes on. A WAL
// starts over only once every frame is copied and a writer then begins, which a thread that lags behind the writer's
// commits rarely sees: so past 64 MiB the writer copies the frames left (those of its last few commits) itself, and
// the WAL stays under 64 MiB as with SQLite's own automatic checkpoints, which copied all of it in the writer.
Status SqliteStore::start_checkpointer(const std::string& path, bool sync_full) {
  std::unique_ptr<SqliteConnection> connection;
  if (Status s = SqliteConnection::open(path, false, connection); !s.ok()) return s;
  if (Status s = connection->exec(synchronous_pragma(sync_full)); !s.ok()) return s;
  checkpointer_ = std::make_unique<SqliteCheckpointer>(std::move(connection), kBackgroundCheckpointPages);
  writer_->on_wal_commit([this](int pages) {
    checkpointer_->wal_grew(pages);
    if (pages >= kWriterCheckpointPages) (void)writer_->checkpoint(SQLITE_CHECKPOINT_PASSIVE);
  });
  return {};
}

void SqliteStore::write_group(std::vector<IngestJob*>& group) {
  std::lock_guard lock(write_mutex_);
  write_sqlite_group(*writer_, alert_config_, group);
}

Status SqliteStore::configure_writer(bool sync_full) {
  std::string journal;
  SqliteSession session(*writer_);
  Status status = session.run("PRAGMA journal_mode = WAL", {}, [&](const SqlRow& r) { journal = r.text_at(0); });
  if (!status.ok()) return status;
  if (journal != "wal") return Status::error("SQLite: cannot switch the database to WAL mode (got " + journal + ")");
  return writer_->exec(synchronous_pragma(sync_full) + "; PRAGMA cache_size = -" + std::to_string(kWriterCacheKiB) +
                       "; PRAGMA temp_store = MEMORY");
}

Status SqliteStore::migrate() {
  SqliteTransaction tx(*writer_);
  if (!tx.begin_status().ok()) return tx.begin_status();
  SqliteSession session(*writer_);
  if (Status s = apply_migrations(session, sqlite_migrations()); !s.ok()) return s;
  return tx.commit();
}

Status SqliteStore::ingest(const BatchRows& batch, IngestOutcome& out) { return group_commit_->submit(batch, out); }

Status SqliteStore::with_reader(const SessionWork& read) {
  auto reader = readers_.acquire();
  SqliteSession session(*reader);
  return read(session);
}

Status SqliteStore::delete_rows(const char* sql, std::vector<SqlParam> params, uint64_t& deleted) {
  std::lock_guard lock(write_mutex_);
  SqliteSession session(*writer_);
  if (Status s = session.run(sql, std::move(params)); !s.ok()) return s;
  deleted = static_cast<uint64_t>(writer_->changes());
  return {};
}

Status SqliteStore::read_event_page(SqlSession& session, const EventFilter& filter, EventPage& out) {
  return read_events_by_keys(session, filter, out);
}

std::vector<const char*> SqliteStore::prune_cleanup() const {
  std::vector<const char*> statements = SqlStore::prune_cleanup();
  statements.push_back(sql::kPruneEventKeys);
  return statements;
}

}  // namespace

Status open_sqlite_store(const std::string& path, const StoreOptions& options, std::unique_ptr<Store>& out) {
  return open_as<SqliteStore>(out, path, options);
}

}  // namespace credtrace::collector
