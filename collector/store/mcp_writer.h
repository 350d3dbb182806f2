// Ingest-transaction writes of MCP activity: tool calls, credentials tied to calls, sessions, tool definitions.
#pragma once

#include <cstdint>
#include <vector>

#include "ingest/batch_rows.h"
#include "store/aggregate_writer.h"
#include "store/sql_session.h"

namespace credtrace::collector {

// Stores the batch's tool calls, call credentials and sessions, and its tool definitions: each compared with the
// definition last seen for the same (workload, server name, tool) across sessions, agents and restarts; one that
// differs goes into out.tool_changes (the first definition seen is the baseline). Runs after write_aggregates, before
// write_alerts. event_ids[i] is the stored id of batch.events[i].
Status write_mcp(SqlSession& session, const BatchRows& batch, const std::vector<int64_t>& event_ids,
                 AggregateState& out);

}  // namespace credtrace::collector
