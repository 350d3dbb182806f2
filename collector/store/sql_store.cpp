// SqlStore: the Store's reads, retention and ping written once over SqlSession; SQLite and PostgreSQL derive from it.
#include "store/sql_store.h"

#include <utility>

#include "store/sql_reads.h"
#include "store/store_sql.h"

namespace credtrace::collector {

Status SqlStore::events(const EventFilter& filter, EventPage& out) {
  return with_reader([&](SqlSession& s) { return read_event_page(s, filter, out); });
}

Status SqlStore::credentials(const CredentialFilter& filter, CredentialPage& out) {
  return with_reader([&](SqlSession& s) { return read_credentials(s, filter, out); });
}

Status SqlStore::credential(const std::string& fingerprint, int links_per_kind, std::optional<CredentialSummary>& out) {
  return with_reader([&](SqlSession& s) { return read_credential(s, fingerprint, links_per_kind, out); });
}

Status SqlStore::workloads(const WorkloadFilter& filter, WorkloadPage& out) {
  return with_reader([&](SqlSession& s) { return read_workloads(s, filter, out); });
}

Status SqlStore::alerts(const AlertFilter& filter, AlertPage& out) {
  return with_reader([&](SqlSession& s) { return read_alerts(s, filter, out); });
}

Status SqlStore::tool_calls(const ToolCallFilter& filter, ToolCallPage& out) {
  return with_reader([&](SqlSession& s) { return read_tool_calls(s, filter, out); });
}

Status SqlStore::ping() {
  return with_reader([](SqlSession& s) { return s.run("SELECT 1", {}); });
}

Status SqlStore::read_event_page(SqlSession& session, const EventFilter& filter, EventPage& out) {
  return read_events(session, filter, out);
}

std::vector<const char*> SqlStore::prune_cleanup() const { return {sql::kPruneEvidence, sql::kPruneWorkloadNames}; }

Status SqlStore::prune(int64_t cutoff_ns, PruneResult& out) {
  out = {};
  uint64_t chunk = 0;
  do {  // small transactions: ingest goes on between chunks
    if (Status s = delete_rows(sql::kPruneEventsChunk, {cutoff_ns}, chunk); !s.ok()) return s;
    out.events += chunk;
  } while (chunk > 0);
  const std::pair<const char*, uint64_t*> steps[] = {{sql::kPruneBatches, &out.batches},
                                                     {sql::kPruneLinks, &out.links},
                                                     {sql::kPruneCredentials, &out.credentials},
                                                     {sql::kPruneWorkloads, &out.workloads},
                                                     {sql::kPruneAlerts, &out.alerts},
                                                     {sql::kPruneToolCalls, &out.tool_calls},
                                                     {sql::kPruneCallCredentials, &out.call_credentials},
                                                     {sql::kPruneSessions, &out.sessions},
                                                     {sql::kPruneToolDefinitions, &out.tool_definitions}};
  for (const auto& [sql, deleted] : steps)
    if (Status s = delete_rows(sql, {cutoff_ns}, *deleted); !s.ok()) return s;
  uint64_t cleaned = 0;
  for (const char* sql : prune_cleanup())
    if (Status s = delete_rows(sql, {}, cleaned); !s.ok()) return s;
  return {};
}

}  // namespace credtrace::collector
