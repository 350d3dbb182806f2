// Store queries over any SqlSession (SQLite or PostgreSQL): events, credentials with links, workloads, alerts, calls.
#include "store/sql_reads.h"

#include <map>

#include "store/store_sql.h"

namespace credtrace::collector {
namespace {

constexpr int kCredentialCalls = 100;  // calls listed in a credential's detail (calls_total counts them all)

CredentialSummary credential_from(const SqlRow& s) {
  CredentialSummary c;
  c.fingerprint = s.text_at(0), c.type = s.text_at(1), c.preview = s.text_at(2), c.first_ns = s.int_at(3);
  c.last_ns = s.int_at(4), c.uses = s.int_at(5), c.exposures = s.int_at(6), c.events = s.int_at(7);
  return c;
}

CredentialCall credential_call_from(const SqlRow& r) {
  CredentialCall c;
  c.agent_id = r.text_at(0), c.call_id = r.text_at(1), c.via = r.text_at(2), c.tool = r.text_at(3);
  c.server_name = r.text_at(4), c.ambiguous = r.int_at(5) != 0, c.first_ns = r.int_at(6), c.last_ns = r.int_at(7);
  c.events = r.int_at(8), c.stored = r.int_at(9) != 0, c.outcome = r.text_at(10), c.method = r.text_at(11);
  c.workload_id = r.text_at(12), c.event_id = r.int_at(13), c.time_ns = r.int_at(14);
  return c;
}

Status attach_calls(SqlSession& session, CredentialSummary& credential) {
  return session.run(credential_calls_query(credential.fingerprint, kCredentialCalls), [&](const SqlRow& row) {
    credential.calls.push_back(credential_call_from(row));
    credential.calls_total = row.int_at(15);
  });
}

ToolCallSummary tool_call_from(const SqlRow& r) {
  ToolCallSummary c;
  c.event_id = r.int_at(0), c.agent_id = r.text_at(1), c.call_id = r.text_at(2), c.workload_id = r.text_at(3);
  c.server_name = r.text_at(4), c.client_name = r.text_at(5), c.tool = r.text_at(6), c.method = r.text_at(7);
  c.transport = r.text_at(8), c.session_id = r.text_at(9), c.side = r.text_at(10), c.requester = r.text_at(11);
  c.outcome = r.text_at(12), c.no_answer = r.text_at(13), c.has_error_code = r.int_at(14) != 0;
  c.error_code = r.int_at(15), c.duration_ns = r.int_at(16), c.request_bytes = r.int_at(17);
  c.response_bytes = r.int_at(18), c.time_ns = r.int_at(19);
  return c;
}

Status attach_call_credentials(SqlSession& session, std::vector<ToolCallSummary>& calls) {
  if (calls.empty()) return {};
  std::vector<int64_t> ids;
  std::map<int64_t, ToolCallSummary*> by_id;
  for (auto& c : calls) ids.push_back(c.event_id), by_id[c.event_id] = &c;
  return session.run(call_credentials_query(ids), [&](const SqlRow& r) {
    auto it = by_id.find(r.int_at(0));
    if (it == by_id.end()) return;
    it->second->credentials.push_back(
        CallCredential{r.text_at(1), r.text_at(2), r.text_at(3), r.text_at(4), r.int_at(5) != 0, r.int_at(6)});
  });
}

Status attach_links(SqlSession& session, std::vector<CredentialSummary>& credentials, int per_kind) {
  if (credentials.empty()) return {};
  std::vector<std::string> fingerprints;
  std::map<std::string, CredentialSummary*> by_fingerprint;
  for (auto& c : credentials) fingerprints.push_back(c.fingerprint), by_fingerprint[c.fingerprint] = &c;
  return session.run(links_query(fingerprints, per_kind), [&](const SqlRow& row) {
    auto it = by_fingerprint.find(row.text_at(0));
    if (it == by_fingerprint.end()) return;
    LinkGroup& group = it->second->links[row.text_at(1)];
    group.total = row.int_at(7);
    group.items.push_back(LinkSummary{row.text_at(2), row.int_at(3), row.int_at(4), row.int_at(5), row.int_at(6)});
  });
}

AlertSummary alert_from(const SqlRow& r) {
  AlertSummary a;
  a.id = r.int_at(0), a.kind = r.text_at(1), a.fingerprint = r.text_at(2), a.subject = r.text_at(3);
  a.credential_type = r.text_at(4), a.detail = r.text_at(5), a.first_ns = r.int_at(6), a.last_ns = r.int_at(7);
  a.hits = r.int_at(8), a.evidence_total = r.int_at(9), a.preview = r.text_at(10);
  a.workloads = r.int_at(11), a.hosts = r.int_at(12), a.workload_id = r.text_at(13);
  return a;
}

Status attach_evidence(SqlSession& session, std::vector<AlertSummary>& alerts) {
  if (alerts.empty()) return {};
  std::vector<int64_t> ids;
  std::map<int64_t, AlertSummary*> by_id;
  for (auto& a : alerts) ids.push_back(a.id), by_id[a.id] = &a;
  return session.run(evidence_query(ids), [&](const SqlRow& row) {
    if (auto it = by_id.find(row.int_at(0)); it != by_id.end()) it->second->evidence.push_back(row.int_at(1));
  });
}

StoredEvent event_from(const SqlRow& r) { return StoredEvent{r.int_at(0), r.blob_at(1)}; }

WorkloadSummary workload_from(const SqlRow& r) {
  return WorkloadSummary{r.text_at(0), r.text_at(1), r.text_at(2), r.blob_at(3), r.int_at(4),
                         r.int_at(5),  r.int_at(6),  r.int_at(7), r.blob_at(8), r.text_at(9)};
}

// Resolves the filter's workload, runs the page query `build` makes and reads its rows with `parse` into `items`;
// when a next page exists, drops the extra row and calls `next_page` (which sets the cursor).
template <typename Filter, typename Item, typename NextPage>
Status read_page(SqlSession& session, const Filter& filter, SqlQuery (*build)(const Filter&, const WorkloadIds&),
                 Item (*parse)(const SqlRow&), std::vector<Item>& items, NextPage next_page) {
  WorkloadIds workloads;
  if (Status s = resolve_workload(session, filter.workload, workloads); !s.ok()) return s;
  Status s = session.run(build(filter, workloads), [&](const SqlRow& row) { items.push_back(parse(row)); });
  if (s.ok() && trim_page(items, filter.limit)) next_page();
  return s;
}

}  // namespace

Status resolve_workload(SqlSession& session, const std::string& text, WorkloadIds& ids) {
  ids.clear();
  if (text.empty()) return {};
  ids.push_back(text);
  return session.run(sql::kWorkloadsNamed, {text}, [&](const SqlRow& row) {
    if (std::string id = row.text_at(0); id != text) ids.push_back(std::move(id));
  });
}

Status read_events(SqlSession& session, const EventFilter& filter, EventPage& out) {
  out = {};
  return read_page(session, filter, events_query, event_from, out.events,
                   [&] { out.next_before_id = out.events.back().id; });
}

Status read_credentials(SqlSession& session, const CredentialFilter& filter, CredentialPage& out) {
  out = {};
  Status s = read_page(session, filter, credentials_query, credential_from, out.credentials,
                       [&] { out.next_after = out.credentials.back().fingerprint; });
  return s.ok() ? attach_links(session, out.credentials, filter.links_per_kind) : s;
}

Status read_credential(SqlSession& session, const std::string& fingerprint, int links_per_kind,
                       std::optional<CredentialSummary>& out) {
  std::vector<CredentialSummary> found;
  Status s = session.run(sql::kSelectCredential, {fingerprint},
                         [&](const SqlRow& row) { found.push_back(credential_from(row)); });
  if (!s.ok()) return s;
  if (Status e = attach_links(session, found, links_per_kind); !e.ok()) return e;
  if (!found.empty())
    if (Status e = attach_calls(session, found.front()); !e.ok()) return e;
  out = found.empty() ? std::nullopt : std::optional<CredentialSummary>(std::move(found.front()));
  return {};
}

Status read_workloads(SqlSession& session, const WorkloadFilter& filter, WorkloadPage& out) {
  out = {};
  return read_page(session, filter, workloads_query, workload_from, out.workloads,
                   [&] { out.next_after = out.workloads.back().id; });
}

Status read_alerts(SqlSession& session, const AlertFilter& filter, AlertPage& out) {
  out = {};
  Status s = read_page(session, filter, alerts_query, alert_from, out.alerts,
                       [&] { out.next_before_id = out.alerts.back().id; });
  return s.ok() ? attach_evidence(session, out.alerts) : s;
}

Status read_tool_calls(SqlSession& session, const ToolCallFilter& filter, ToolCallPage& out) {
  out = {};
  Status s = read_page(session, filter, tool_calls_query, tool_call_from, out.calls,
                       [&] { out.next_before_id = out.calls.back().event_id; });
  return s.ok() ? attach_call_credentials(session, out.calls) : s;
}

}  // namespace credtrace::collector
