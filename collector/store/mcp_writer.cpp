// Ingest-transaction writes of MCP activity: tool calls, credentials tied to calls, sessions, tool definitions.
#include "store/mcp_writer.h"

#include <map>
#include <tuple>

#include "store/store_sql.h"

namespace credtrace::collector {
namespace {

// The id a row without one is stored under: its event's, which no other row has.
std::string key_or_event(const std::string& key, int64_t event_id) {
  return key.empty() ? "event-" + std::to_string(event_id) : key;
}

Status write_calls(SqlSession& session, const BatchRows& batch, const std::vector<int64_t>& ids, uint64_t& stored) {
  const auto& calls = batch.mcp.calls;
  std::vector<std::string> keys;  // RowValues keeps views: the keys must outlive run_rows
  keys.reserve(calls.size());
  for (const auto& c : calls) keys.push_back(key_or_event(c.call_id, ids[c.event]));
  return session.run_rows(sql::kInsertToolCalls, calls.size(), [&](size_t i, RowValues& v) {
    const ToolCallRow& c = calls[i];
    v.add(batch.agent_id), v.add(keys[i]), v.add(c.workload_id), v.add(c.server_name), v.add(c.client_name);
    v.add(c.tool), v.add(c.method), v.add(c.transport), v.add(c.session_id), v.add(c.side), v.add(c.requester);
    v.add(c.outcome), v.add(c.error_code), v.add(int64_t{c.has_error_code}), v.add(c.no_answer), v.add(c.duration_ns);
    v.add(c.request_bytes), v.add(c.response_bytes), v.add(c.time_ns), v.add(ids[c.event]);
  }, [&](const SqlRow&) { ++stored; });
}

Status write_call_credentials(SqlSession& session, const BatchRows& batch, const std::vector<int64_t>& ids) {
  const auto& rows = batch.mcp.call_credentials;
  return session.run_rows(sql::kUpsertCallCredentials, rows.size(), [&](size_t i, RowValues& v) {
    const CallCredentialRow& l = rows[i];
    v.add(batch.agent_id), v.add(l.call_id), v.add(l.fingerprint), v.add(l.via), v.add(int64_t{l.ambiguous});
    v.add(l.type), v.add(l.preview), v.add(l.tool), v.add(l.server_name), v.add(l.first_ns), v.add(l.last_ns);
    v.add(l.events), v.add(ids[l.first_event]);
  });
}

Status write_sessions(SqlSession& session, const BatchRows& batch, const std::vector<int64_t>& ids) {
  const auto& sessions = batch.mcp.sessions;
  std::vector<std::string> keys;
  keys.reserve(sessions.size());
  for (const auto& s : sessions) keys.push_back(key_or_event(s.session_id, ids[s.event]));
  return session.run_rows(sql::kInsertSessions, sessions.size(), [&](size_t i, RowValues& v) {
    const SessionRow& s = sessions[i];
    v.add(batch.agent_id), v.add(s.workload_id), v.add(keys[i]), v.add(s.transport), v.add(s.side);
    v.add(s.protocol_version), v.add(s.client_name), v.add(s.client_version), v.add(s.server_name);
    v.add(s.server_version), v.add(s.time_ns), v.add(ids[s.event]);
  });
}

// The definition last seen of one (workload, server name, tool), as the batch goes through its definitions.
struct LastDefinition {
  bool found = false;
  std::string sha256, session_id;
  int64_t seen_ns = 0, event_id = 0;
};

using DefinitionKey = std::tuple<std::string, std::string, std::string>;  // workload_id, server_name, tool

Status read_last(SqlSession& session, const DefinitionKey& key, LastDefinition& out) {
  const auto& [workload, server, tool] = key;
  return session.run(sql::kLatestToolDefinition, {workload, server, tool}, [&](const SqlRow& row) {
    out = LastDefinition{true, row.text_at(0), row.text_at(1), row.int_at(2), row.int_at(3)};
  });
}

// One tool's definitions of the batch, in event order: each compared with the one before it, then stored.
Status write_tool(SqlSession& session, const DefinitionKey& key, const std::vector<const ToolDefinitionRow*>& rows,
                  const std::vector<int64_t>& ids, AggregateState& out) {
  LastDefinition last;
  if (Status s = read_last(session, key, last); !s.ok()) return s;
  for (const ToolDefinitionRow* d : rows) {
    if (last.found && last.sha256 != d->sha256)
      out.tool_changes.push_back({ToolChangeFacts{d->workload_id, d->server_name, d->tool, last.sha256, d->sha256,
                                                  last.session_id, d->session_id, "collector", last.seen_ns},
                                  d->event, d->time_ns, last.event_id});
    int64_t event_id = ids[d->event];
    last = LastDefinition{true, d->sha256, d->session_id, d->time_ns, event_id};
    Status s = session.run(sql::kUpsertToolDefinition, {d->workload_id, d->server_name, d->tool, d->sha256,
                                                        d->session_id, d->time_ns, event_id});
    if (!s.ok()) return s;
  }
  return {};
}

Status write_definitions(SqlSession& session, const BatchRows& batch, const std::vector<int64_t>& ids,
                         AggregateState& out) {
  std::map<DefinitionKey, std::vector<const ToolDefinitionRow*>> by_tool;  // key order: locks taken in one order
  for (const auto& d : batch.mcp.tool_definitions) by_tool[{d.workload_id, d.server_name, d.tool}].push_back(&d);
  for (const auto& [key, rows] : by_tool)
    if (Status s = write_tool(session, key, rows, ids, out); !s.ok()) return s;
  return {};
}

}  // namespace

Status write_mcp(SqlSession& session, const BatchRows& batch, const std::vector<int64_t>& event_ids,
                 AggregateState& out) {
  if (Status s = write_calls(session, batch, event_ids, out.tool_calls_stored); !s.ok()) return s;
  if (Status s = write_call_credentials(session, batch, event_ids); !s.ok()) return s;
  if (Status s = write_sessions(session, batch, event_ids); !s.ok()) return s;
  return write_definitions(session, batch, event_ids, out);
}

}  // namespace credtrace::collector
