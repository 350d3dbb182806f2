// One batch inside the open ingest transaction, written once for both stores: dedupe claim, events, aggregates, MCP, alerts.
#include "store/batch_writer.h"

#include "alerts/alert_writer.h"
#include "store/aggregate_writer.h"
#include "store/mcp_writer.h"
#include "store/store_sql.h"

namespace credtrace::collector {
namespace {

// Inserts the batch row and sets batch_id to its id; 0 (and out.duplicate) when the (agent_id, sequence) is stored.
Status claim_batch(SqlSession& session, const BatchRows& batch, IngestOutcome& out, int64_t& batch_id) {
  auto sequence = static_cast<int64_t>(batch.sequence);  // uint64 stored bit-for-bit in a signed column
  batch_id = 0;
  Status s = session.run(sql::kInsertBatch,
                         {batch.agent_id, sequence, batch.received_ns, static_cast<int64_t>(batch.events.size())},
                         [&](const SqlRow& row) { batch_id = row.int_at(0); });
  if (!s.ok() || batch_id != 0) return s;
  out.duplicate = true;
  return session.run(sql::kSelectBatchEvents, {batch.agent_id, sequence},
                     [&](const SqlRow& row) { out.accepted = static_cast<uint64_t>(row.int_at(0)); });
}

void event_values(const EventRow& e, int64_t id, int64_t batch_id, RowValues& v) {
  v.add(id), v.add(batch_id), v.add(e.type), v.add(e.time_ns), v.add(e.host), v.add(e.agent_id);
  v.add(e.workload_id), v.add(e.fingerprint), v.add_blob(e.payload);
}

Status insert_events(SqlSession& session, IngestDialect& dialect, int64_t batch_id, const BatchRows& batch,
                     std::vector<int64_t>& ids) {
  if (Status s = dialect.reserve_event_ids(session, batch.events.size(), ids); !s.ok()) return s;
  if (ids.size() != batch.events.size()) return Status::error("the store handed out too few event ids");
  Status s = session.run_rows(sql::kInsertEvents, ids.size(), [&](size_t i, RowValues& v) {
    event_values(batch.events[i], ids[i], batch_id, v);
  });
  return s.ok() ? dialect.events_written(session, batch, ids) : s;
}

}  // namespace

Status write_batch(SqlSession& session, IngestDialect& dialect, const BatchRows& batch, const AlertConfig& alerts,
                   IngestOutcome& out) {
  out = {};
  int64_t batch_id = 0;
  if (Status s = claim_batch(session, batch, out, batch_id); !s.ok() || batch_id == 0) return s;
  std::vector<int64_t> ids;
  AggregateState aggregates;
  if (Status s = insert_events(session, dialect, batch_id, batch, ids); !s.ok()) return s;
  if (Status s = write_aggregates(session, batch, ids, aggregates); !s.ok()) return s;
  if (Status s = write_mcp(session, batch, ids, aggregates); !s.ok()) return s;
  if (Status s = write_alerts(session, batch, ids, aggregates, alerts); !s.ok()) return s;
  out.accepted = batch.events.size();
  out.tool_calls = aggregates.tool_calls_stored;
  return {};
}

}  // namespace credtrace::collector
