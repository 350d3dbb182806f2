// Ingest-transaction upserts of the aggregates (credentials, links, workloads), written once for both stores.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "alerts/alert_rules.h"
#include "ingest/batch_rows.h"
#include "store/sql_session.h"

namespace credtrace::collector {

// A credential as stored after this batch: when it was first seen, and by which event.
struct CredentialState {
  int64_t first_ns = 0, first_event = 0;
};

struct AggregateState {
  std::map<std::string, CredentialState> credentials;           // by fingerprint
  // (fingerprint, workload|host) → first event ids of the links of that kind this batch added
  std::map<std::pair<std::string, std::string>, std::vector<int64_t>> new_links;
  // Tool definitions of this batch that differ from the one last seen for their workload, server and tool
  // (store/mcp_writer.h), with the event (index in BatchRows::events) and the stored event of the one before.
  struct ToolChange {
    ToolChangeFacts facts;
    size_t event = 0;
    int64_t time_ns = 0, previous_event = 0;
  };
  std::vector<ToolChange> tool_changes;
  uint64_t tool_calls_stored = 0;  // the batch's calls whose (agent_id, call_id) was new
};

// A human name of a workload (workload_names in ingest/batch_rows.h).
struct WorkloadName {
  std::string name, workload_id;
};

// Adds the names that are not stored yet, in key order (concurrent writers take their locks in one order).
Status write_workload_names(SqlSession& session, std::vector<WorkloadName> names);

// Upserts the batch's credentials, links and workloads with their names (one SqlSession::run_rows each: the
// dialect decides how the rows travel) and reads back what the alerts need. event_ids[i] is the stored id of
// batch.events[i].
Status write_aggregates(SqlSession& session, const BatchRows& batch, const std::vector<int64_t>& event_ids,
                        AggregateState& out);

}  // namespace credtrace::collector
