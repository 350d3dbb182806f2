// Ingest-transaction alert updates: per-event rule hits, shared_key, long_lived and tool changes from the store.
#pragma once

#include <vector>

#include "alerts/alert_rules.h"
#include "ingest/batch_rows.h"
#include "store/aggregate_writer.h"
#include "store/sql_session.h"

namespace credtrace::collector {

// Evidence event ids kept per alert (the hit count goes on beyond it).
inline constexpr size_t kMaxAlertEvidence = 50;

// Upserts the batch's alerts and their evidence; runs after write_aggregates and write_mcp in the same transaction.
Status write_alerts(SqlSession& session, const BatchRows& batch, const std::vector<int64_t>& event_ids,
                    const AggregateState& aggregates, const AlertConfig& config);

}  // namespace credtrace::collector
