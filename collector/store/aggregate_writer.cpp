// Ingest-transaction upserts of the aggregates (credentials, links, workloads), written once for both stores.
#include "store/aggregate_writer.h"

#include <algorithm>
#include <tuple>

namespace credtrace::collector {
namespace {

bool is_identity_link(const std::string& kind) { return kind == kLinkWorkload || kind == kLinkHost; }

// Reads what the credential and link upserts return (sql::kUpsertCredentials, kUpsertLinks) into an AggregateState.
class UpsertResults {
 public:
  UpsertResults(const BatchRows& batch, const std::vector<int64_t>& event_ids, AggregateState& out)
      : batch_(batch), ids_(event_ids), out_(out) {}
  void credential_row(const SqlRow& row);  // fingerprint, first_ns, first_event, type
  // A link is new (or now starts earlier) when its first_event is this batch's event.
  void link_row(const SqlRow& row);        // fingerprint, kind, value, first_event
  // Once every credential row is in: gives a stored credential the batch's type when that is set and differs.
  Status update_types(SqlSession& session);
  // Once every link row is in: the new workload and host links into AggregateState::new_links, in key order.
  void links_done();

 private:
  const BatchRows& batch_;
  const std::vector<int64_t>& ids_;
  AggregateState& out_;
  std::map<std::string, std::string> stored_types_;
  std::vector<size_t> new_links_;  // indexes in batch_.links
};

void UpsertResults::credential_row(const SqlRow& row) {
  std::string fingerprint = row.text_at(0);
  out_.credentials[fingerprint] = CredentialState{row.int_at(1), row.int_at(2)};
  stored_types_[std::move(fingerprint)] = row.text_at(3);
}

void UpsertResults::link_row(const SqlRow& row) {
  std::string fingerprint = row.text_at(0), kind = row.text_at(1), value = row.text_at(2);
  if (!is_identity_link(kind)) return;
  auto key = std::tie(fingerprint, kind, value);
  auto it = std::lower_bound(batch_.links.begin(), batch_.links.end(), key, [](const LinkDelta& l, const auto& k) {
    return std::tie(l.fingerprint, l.kind, l.value) < k;
  });  // BatchRows::links is sorted by key
  if (it == batch_.links.end() || std::tie(it->fingerprint, it->kind, it->value) != key) return;
  if (row.int_at(3) == ids_[it->first_event]) new_links_.push_back(static_cast<size_t>(it - batch_.links.begin()));
}

void UpsertResults::links_done() {
  std::sort(new_links_.begin(), new_links_.end());
  for (size_t i : new_links_) {
    const LinkDelta& l = batch_.links[i];
    out_.new_links[{l.fingerprint, l.kind}].push_back(ids_[l.first_event]);
  }
  new_links_.clear();
}

Status UpsertResults::update_types(SqlSession& session) {
  for (const auto& c : batch_.credentials) {
    auto it = stored_types_.find(c.fingerprint);
    if (c.type.empty() || it == stored_types_.end() || it->second == c.type) continue;
    if (Status s = session.run(sql::kSetCredentialType, {c.fingerprint, c.type}); !s.ok()) return s;
  }
  return {};
}

// One row of each upsert, in the column order of its BulkStatement.
void credential_values(const CredentialDelta& c, int64_t first_event, RowValues& v) {
  v.add(c.fingerprint), v.add(c.type), v.add(c.preview), v.add(c.first_ns), v.add(c.last_ns);
  v.add(c.uses), v.add(c.exposures), v.add(c.events), v.add(first_event);
}

void link_values(const LinkDelta& l, int64_t first_event, RowValues& v) {
  v.add(l.fingerprint), v.add(l.kind), v.add(l.value), v.add(l.first_ns), v.add(l.last_ns);
  v.add(l.events), v.add(l.uses), v.add(first_event);
}

void workload_values(const WorkloadDelta& w, RowValues& v) {
  v.add(w.id), v.add(w.host), v.add(w.name), v.add_blob(w.payload), v.add(w.first_ns), v.add(w.last_ns);
  v.add(w.events), v.add_blob(w.tls), v.add(w.tls_coverage), v.add(w.tls_ns);
}

// Runs `statement` over `rows` (each row's values from `values`, with the stored id of its first event) and hands
// the rows it returns to `returned`.
template <typename Delta>
Status upsert(SqlSession& session, const BulkStatement& statement, const std::vector<Delta>& rows,
              const std::vector<int64_t>& ids, void (*values)(const Delta&, int64_t, RowValues&),
              const SqlRowFn& returned) {
  return session.run_rows(
      statement, rows.size(), [&](size_t i, RowValues& v) { values(rows[i], ids[rows[i].first_event], v); }, returned);
}

Status upsert_workloads(SqlSession& session, const BatchRows& batch) {
  Status s = session.run_rows(sql::kUpsertWorkloads, batch.workloads.size(),
                              [&](size_t i, RowValues& v) { workload_values(batch.workloads[i], v); });
  std::vector<WorkloadName> names;
  for (const auto& w : batch.workloads)
    for (const auto& name : w.names) names.push_back(WorkloadName{name, w.id});
  return s.ok() ? write_workload_names(session, std::move(names)) : s;
}

}  // namespace

Status write_workload_names(SqlSession& session, std::vector<WorkloadName> names) {
  std::sort(names.begin(), names.end(), [](const WorkloadName& a, const WorkloadName& b) {
    return std::tie(a.name, a.workload_id) < std::tie(b.name, b.workload_id);
  });
  return session.run_rows(sql::kInsertWorkloadNames, names.size(), [&](size_t i, RowValues& v) {
    v.add(names[i].name), v.add(names[i].workload_id);
  });
}

Status write_aggregates(SqlSession& session, const BatchRows& batch, const std::vector<int64_t>& event_ids,
                        AggregateState& out) {
  out = {};
  UpsertResults results(batch, event_ids, out);
  Status s = upsert(session, sql::kUpsertCredentials, batch.credentials, event_ids, credential_values,
                    [&](const SqlRow& row) { results.credential_row(row); });
  if (s.ok()) s = results.update_types(session);
  if (s.ok())
    s = upsert(session, sql::kUpsertLinks, batch.links, event_ids, link_values,
               [&](const SqlRow& row) { results.link_row(row); });
  results.links_done();
  return s.ok() ? upsert_workloads(session, batch) : s;
}

}  // namespace credtrace::collector
