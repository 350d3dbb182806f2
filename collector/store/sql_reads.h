// Store queries over any SqlSession (SQLite or PostgreSQL): events, credentials with links, workloads, alerts, calls.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "store/sql_session.h"
#include "store/store.h"

namespace credtrace::collector {

// The workloads `text` names: `text` itself (an id), then every workload that has it as a human name. Empty text:
// none (no filter).
Status resolve_workload(SqlSession& session, const std::string& text, WorkloadIds& ids);

// Drops the extra row a page query reads past `limit`; true when there was one (a next page exists).
template <typename Item>
bool trim_page(std::vector<Item>& items, int limit) {
  if (items.size() <= static_cast<size_t>(limit)) return false;
  items.resize(static_cast<size_t>(limit));
  return true;
}

Status read_events(SqlSession& session, const EventFilter& filter, EventPage& out);
Status read_credentials(SqlSession& session, const CredentialFilter& filter, CredentialPage& out);
Status read_credential(SqlSession& session, const std::string& fingerprint, int links_per_kind,
                       std::optional<CredentialSummary>& out);
Status read_workloads(SqlSession& session, const WorkloadFilter& filter, WorkloadPage& out);
Status read_alerts(SqlSession& session, const AlertFilter& filter, AlertPage& out);
// Tool calls with the credentials tied to each.
Status read_tool_calls(SqlSession& session, const ToolCallFilter& filter, ToolCallPage& out);

}  // namespace credtrace::collector
