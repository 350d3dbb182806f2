// SQLite ingest transactions: a group of batches in one transaction, each deduplicated, with aggregates and alerts.
#include "store/sqlite/sqlite_ingest.h"

#include <string>

#include "alerts/alert_writer.h"
#include "store/aggregate_writer.h"
#include "store/batch_claim.h"
#include "store/sqlite/sqlite_event_keys.h"
#include "store/sqlite/sqlite_session.h"
#include "store/store_sql.h"

namespace credtrace::collector {
namespace {

constexpr int kEventColumns = 9;

void bind_event(SqliteStatement& st, int first, int64_t id, int64_t batch_id, const EventRow& e) {
  st.bind(first, id), st.bind(first + 1, batch_id), st.bind(first + 2, e.type), st.bind(first + 3, e.time_ns);
  st.bind(first + 4, e.host), st.bind(first + 5, e.agent_id), st.bind(first + 6, e.workload_id);
  st.bind(first + 7, e.fingerprint), st.bind_blob(first + 8, e.payload);
}

// Inserts events [from, from + rows) with ids ids[from...] in one statement.
Status insert_chunk(SqliteConnection& connection, int64_t batch_id, const BatchRows& batch,
                    const std::vector<int64_t>& ids, size_t from, size_t rows) {
  std::unique_ptr<SqliteStatement> st;
  if (Status s = connection.prepare(insert_events_sql(rows), st); !s.ok()) return s;
  for (size_t row = 0; row < rows; ++row)
    bind_event(*st, static_cast<int>(row) * kEventColumns + 1, ids[from + row], batch_id, batch.events[from + row]);
  if (st->step() != SQLITE_DONE) return Status::error("SQLite insert events: " + connection.error());
  return {};
}

// The batch's events get the ids after the last one handed out (the writer is alone; ids are never reused, so a later
// batch always has larger ids, which event_keys relies on), then go in as multi-row inserts: fewer statements to run,
// the same b-tree work.
Status insert_events(SqliteConnection& connection, int64_t batch_id, const BatchRows& batch, std::vector<int64_t>& ids) {
  SqliteSession session(connection);
  int64_t last = -1;
  Status s = session.run(sql::kLastEventId, {}, [&](const SqlRow& row) { last = row.int_at(0); });
  if (!s.ok()) return s;
  if (last < 0) return Status::error("SQLite: the event id counter is missing");
  ids.resize(batch.events.size());
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = last + 1 + static_cast<int64_t>(i);
  if (Status e = session.run(sql::kSetLastEventId, {last + static_cast<int64_t>(ids.size())}); !e.ok()) return e;
  return for_each_chunk(batch.events.size(), [&](size_t from, size_t rows) {
    return insert_chunk(connection, batch_id, batch, ids, from, rows);
  });
}

// One batch inside the open transaction: its batch row (or the duplicate's), events, aggregates, alerts.
Status write_batch(SqliteConnection& connection, const AlertConfig& alerts, const BatchRows& batch, IngestOutcome& out) {
  SqliteSession session(connection);
  int64_t batch_id = 0;
  out = {};
  if (Status s = claim_batch(session, batch, out, batch_id); !s.ok() || batch_id == 0) return s;
  std::vector<int64_t> ids;
  AggregateState aggregates;
  if (Status e = insert_events(connection, batch_id, batch, ids); !e.ok()) return e;
  if (Status e = write_event_keys(session, batch, ids); !e.ok()) return e;
  if (Status e = write_aggregates(session, batch, ids, aggregates); !e.ok()) return e;
  if (Status e = write_alerts(session, batch, ids, aggregates, alerts); !e.ok()) return e;
  out.accepted = batch.events.size();
  return {};
}

Status write_together(SqliteConnection& connection, const AlertConfig& alerts, std::vector<IngestJob*>& group) {
  SqliteTransaction tx(connection);
  if (!tx.begin_status().ok()) return tx.begin_status();
  for (IngestJob* job : group)
    if (Status s = write_batch(connection, alerts, *job->batch, job->outcome); !s.ok()) return s;
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
