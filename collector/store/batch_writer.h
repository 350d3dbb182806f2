// One batch inside the open ingest transaction, written once for both stores: dedupe claim, events, aggregates, alerts.
#pragma once

#include <cstdint>
#include <vector>

#include "alerts/alert_rules.h"
#include "common/status.h"
#include "ingest/batch_rows.h"
#include "store/sql_session.h"
#include "store/store.h"

namespace credtrace::collector {

// What a backend does its own way inside the shared ingest transaction.
class IngestDialect {
 public:
  virtual ~IngestDialect() = default;
  // Ids for `count` new events: ascending, never handed out before.
  virtual Status reserve_event_ids(SqlSession& session, size_t count, std::vector<int64_t>& ids) = 0;
  // After the batch's events went in (SQLite: their event keys). ids[i] is the id of batch.events[i].
  virtual Status events_written(SqlSession& session, const BatchRows& batch, const std::vector<int64_t>& ids) = 0;
};

// Claims the batch's (agent_id, sequence): when another copy holds it, `out` says duplicate (with the events that
// copy stored) and nothing else is written. Otherwise stores the events, the aggregates and the alerts.
Status write_batch(SqlSession& session, IngestDialect& dialect, const BatchRows& batch, const AlertConfig& alerts,
                   IngestOutcome& out);

}  // namespace credtrace::collector
