// SQLite ingest transactions: a group of batches in one transaction, each deduplicated, with aggregates and alerts.
#include "store/sqlite/sqlite_ingest.h"

#include "store/batch_writer.h"
#include "store/sqlite/sqlite_event_keys.h"
#include "store/sqlite/sqlite_session.h"
#include "store/store_sql.h"

namespace credtrace::collector {
namespace {

// The single writer hands out event ids after the last one handed out (never reused, so a later batch always has
// larger ids, which event_keys relies on), and writes each batch's event keys.
class SqliteIngest final : public IngestDialect {
 public:
  Status reserve_event_ids(SqlSession& session, size_t count, std::vector<int64_t>& ids) override {
    int64_t last = -1;
    Status s = session.run(sql::kLastEventId, {}, [&](const SqlRow& row) { last = row.int_at(0); });
    if (!s.ok()) return s;
    if (last < 0) return Status::error("SQLite: the event id counter is missing");
    ids.resize(count);
    for (size_t i = 0; i < count; ++i) ids[i] = last + 1 + static_cast<int64_t>(i);
    return session.run(sql::kSetLastEventId, {last + static_cast<int64_t>(count)});
  }
  Status events_written(SqlSession& session, const BatchRows& batch, const std::vector<int64_t>& ids) override {
    return write_event_keys(session, batch, ids);
  }
};

// One batch inside the open transaction: its batch row (or the duplicate's), events, aggregates, alerts.
Status write_one(SqliteConnection& connection, const AlertConfig& alerts, const BatchRows& batch, IngestOutcome& out) {
  SqliteSession session(connection);
  SqliteIngest dialect;
  return write_batch(session, dialect, batch, alerts, out);
}

Status write_together(SqliteConnection& connection, const AlertConfig& alerts, std::vector<IngestJob*>& group) {
  SqliteTransaction tx(connection);
  if (!tx.begin_status().ok()) return tx.begin_status();
  for (IngestJob* job : group)
    if (Status s = write_one(connection, alerts, *job->batch, job->outcome); !s.ok()) return s;
  return tx.commit();
}

void write_alone(SqliteConnection& connection, const AlertConfig& alerts, IngestJob& job) {
  std::vector<IngestJob*> one{&job};
  job.status = write_together(connection, alerts, one);
}

}  // namespace

void write_sqlite_group(SqliteConnection& connection, const AlertConfig& alerts, std::vector<IngestJob*>& group) {
  Status status = write_together(connection, alerts, group);
  if (status.ok() || group.size() == 1) {
    for (IngestJob* job : group) job->status = status;
    return;
  }
  for (IngestJob* job : group) write_alone(connection, alerts, *job);
}

}  // namespace credtrace::collector
