// Ingest-transaction alert updates: per-event rule hits, shared_key, long_lived and tool changes from the store.
#include "alerts/alert_writer.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <tuple>

#include "common/time_util.h"

namespace credtrace::collector {
namespace {

using AlertKey = std::tuple<std::string, std::string, std::string>;  // kind, fingerprint, subject

// Everything one batch adds to one alert.
struct AlertUpdate {
  std::string credential_type, detail, workload_id;
  int64_t first_ns = 0, last_ns = 0, hits = 0;
  std::vector<int64_t> evidence;  // event ids, at most kMaxAlertEvidence
  std::vector<int64_t> initial;   // evidence only for a new alert (earlier events an existing one already names)
};

void append_evidence(std::vector<int64_t>& to, const std::vector<int64_t>& ids) {
  for (int64_t id : ids)
    if (id > 0 && to.size() < kMaxAlertEvidence && std::find(to.begin(), to.end(), id) == to.end()) to.push_back(id);
}

using Updates = std::map<AlertKey, AlertUpdate>;  // sorted: concurrent writers lock alert rows in one order

void add(Updates& updates, const AlertKey& key, const std::string& type, const std::string& detail, int64_t time_ns,
         const std::vector<int64_t>& evidence, int64_t hits, const std::vector<int64_t>& initial = {}) {
  AlertUpdate& u = updates[key];
  if (u.hits == 0 || time_ns >= u.last_ns) u.detail = detail;
  if (!type.empty()) u.credential_type = type;
  if (u.first_ns == 0 || time_ns < u.first_ns) u.first_ns = time_ns;
  u.last_ns = std::max(u.last_ns, time_ns);
  u.hits += hits;
  append_evidence(u.evidence, evidence);
  append_evidence(u.initial, initial);
}

void add_hit(Updates& updates, const AlertHit& h, const std::vector<int64_t>& ids,
             const std::vector<int64_t>& initial = {}) {
  AlertKey key{h.kind, h.fingerprint, h.subject};
  add(updates, key, h.credential_type, h.detail, h.time_ns, {ids[h.event]}, 1, initial);
  if (!h.workload_id.empty()) updates[key].workload_id = h.workload_id;
}

void add_event_hits(Updates& updates, const BatchRows& batch, const std::vector<int64_t>& ids, const AlertConfig& config) {
  for (size_t i = 0; i < batch.events.size(); ++i)
    for (const AlertHit& h : event_alerts(batch.events[i], i, config)) add_hit(updates, h, ids);
}

// Definitions the store compared (store/mcp_writer.h); evidence: the event with the new definition, and for a new
// alert the last event that showed the one before.
void add_tool_changes(Updates& updates, const std::vector<int64_t>& ids, const AggregateState& aggregates) {
  for (const auto& change : aggregates.tool_changes)
    add_hit(updates, tool_changed_hit(change.facts, change.event, change.time_ns), ids, {change.previous_event});
}

void add_long_lived(Updates& updates, const BatchRows& batch, const std::vector<int64_t>& ids,
                    const AggregateState& aggregates, const AlertConfig& config) {
  for (size_t i = 0; i < batch.events.size(); ++i) {
    const EventRow& row = batch.events[i];
    if (row.type != "credential_use" || row.fingerprint.empty() || row.facts.jwt) continue;
    auto it = aggregates.credentials.find(row.fingerprint);
    if (it == aggregates.credentials.end() || !is_long_lived(it->second.first_ns, row.time_ns, config)) continue;
    nlohmann::json detail{{"first_seen", ns_to_rfc3339(it->second.first_ns)},
                          {"age_days", (row.time_ns - it->second.first_ns) / (86400 * 1'000'000'000LL)},
                          {"limit_days", config.max_age_ns / (86400 * 1'000'000'000LL)}};
    add(updates, {kAlertLongLived, row.fingerprint, ""}, row.facts.credential_type, detail.dump(), row.time_ns,
        {ids[i]}, 1, {it->second.first_event});
  }
}

const CredentialDelta* delta_of(const BatchRows& batch, const std::string& fingerprint) {
  auto it = std::lower_bound(batch.credentials.begin(), batch.credentials.end(), fingerprint,
                             [](const CredentialDelta& c, const std::string& fp) { return c.fingerprint < fp; });
  return it != batch.credentials.end() && it->fingerprint == fingerprint ? &*it : nullptr;
}

// A new workload or host link: the credential is shared when it now has more than one of that kind. Evidence: the
// new links' first events, and for a new alert the first events of the earliest links.
Status add_shared(SqlSession& session, Updates& updates, const BatchRows& batch, const AggregateState& aggregates) {
  for (const auto& [link, added] : aggregates.new_links) {
    const auto& [fingerprint, kind] = link;
    std::vector<int64_t> firsts;
    Status s = session.run(sql::kSelectFirstLinkEvents,
                           {fingerprint, kind, static_cast<int64_t>(kMaxAlertEvidence)},
                           [&](const SqlRow& row) { firsts.push_back(row.int_at(0)); });
    if (!s.ok()) return s;
    if (firsts.size() < 2) continue;
    const CredentialDelta* delta = delta_of(batch, fingerprint);
    nlohmann::json detail{{"shared_by", kind == kLinkWorkload ? "workloads" : "hosts"}};
    add(updates, {kAlertSharedKey, fingerprint, ""}, delta ? delta->type : "", detail.dump(),
        delta ? delta->last_ns : 0, added, static_cast<int64_t>(added.size()), firsts);
  }
  return {};
}

Status store_evidence(SqlSession& session, int64_t alert_id, int64_t stored, const std::vector<int64_t>& evidence) {
  int64_t added = 0;
  for (int64_t id : evidence) {
    if (stored + added >= static_cast<int64_t>(kMaxAlertEvidence)) break;
    Status s = session.run(sql::kInsertEvidence, {alert_id, id}, [&](const SqlRow&) { ++added; });
    if (!s.ok()) return s;
  }
  if (added == 0) return {};
  return session.run(sql::kAddEvidenceCount, {alert_id, added});
}

Status store_update(SqlSession& session, const AlertKey& key, const AlertUpdate& u) {
  const auto& [kind, fingerprint, subject] = key;
  int64_t alert_id = 0, stored = 0;
  Status s = session.run(sql::kUpsertAlert,
                         {kind, fingerprint, subject, u.credential_type, u.detail, u.first_ns, u.last_ns, u.hits,
                          u.workload_id},
                         [&](const SqlRow& row) { alert_id = row.int_at(0), stored = row.int_at(1); });
  if (!s.ok()) return s;
  if (stored >= static_cast<int64_t>(kMaxAlertEvidence)) return {};
  if (stored > 0) return store_evidence(session, alert_id, stored, u.evidence);
  std::vector<int64_t> all = u.initial;  // a new alert: the earlier events first
  append_evidence(all, u.evidence);
  return store_evidence(session, alert_id, stored, all);
}

}  // namespace

Status write_alerts(SqlSession& session, const BatchRows& batch, const std::vector<int64_t>& event_ids,
                    const AggregateState& aggregates, const AlertConfig& config) {
  Updates updates;
  add_event_hits(updates, batch, event_ids, config);
  add_long_lived(updates, batch, event_ids, aggregates, config);
  add_tool_changes(updates, event_ids, aggregates);
  if (Status s = add_shared(session, updates, batch, aggregates); !s.ok()) return s;
  for (const auto& [key, update] : updates)
    if (Status s = store_update(session, key, update); !s.ok()) return s;
  return {};
}

}  // namespace credtrace::collector
