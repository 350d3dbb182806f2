// Ingest-transaction upserts of the aggregates (credentials, links, workloads), shared by the SQLite and PostgreSQL stores.
#include "store/aggregate_writer.h"

#include <algorithm>
#include <functional>
#include <tuple>

namespace credtrace::collector {
namespace {

bool is_identity_link(const std::string& kind) { return kind == kLinkWorkload || kind == kLinkHost; }

Status upsert_credentials(SqlSession& session, const BatchRows& batch, const std::vector<int64_t>& ids,
                          UpsertResults& results) {
  Status s = run_chunked(
      session, batch.credentials.size(), upsert_credentials_sql,
      [&](size_t i, std::vector<SqlParam>& p) {
        const CredentialDelta& c = batch.credentials[i];
        p.insert(p.end(), {c.fingerprint, c.type, c.preview, c.first_ns, c.last_ns, c.uses, c.exposures, c.events,
                           ids[c.first_event]});
      },
      [&](const SqlRow& row) { results.credential_row(row); });
  return s.ok() ? results.update_types(session) : s;
}

Status upsert_links(SqlSession& session, const BatchRows& batch, const std::vector<int64_t>& ids,
                    UpsertResults& results) {
  Status s = run_chunked(
      session, batch.links.size(), upsert_links_sql,
      [&](size_t i, std::vector<SqlParam>& p) {
        const LinkDelta& l = batch.links[i];
        p.insert(p.end(), {l.fingerprint, l.kind, l.value, l.first_ns, l.last_ns, l.events, l.uses, ids[l.first_event]});
      },
      [&](const SqlRow& row) { results.link_row(row); });
  results.links_done();
  return s;
}

Status upsert_workloads(SqlSession& session, const BatchRows& batch) {
  return run_chunked(
      session, batch.workloads.size(), upsert_workloads_sql,
      [&](size_t i, std::vector<SqlParam>& p) {
        const WorkloadDelta& w = batch.workloads[i];
        p.insert(p.end(), {w.id, w.host, w.name, SqlParam::blob(w.payload), w.first_ns, w.last_ns, w.events});
      },
      {});
}

}  // namespace

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

Status write_aggregates(SqlSession& session, const BatchRows& batch, const std::vector<int64_t>& event_ids,
                        AggregateState& out) {
  out = {};
  UpsertResults results(batch, event_ids, out);
  if (Status s = upsert_credentials(session, batch, event_ids, results); !s.ok()) return s;
  if (Status s = upsert_links(session, batch, event_ids, results); !s.ok()) return s;
  return upsert_workloads(session, batch);
}

}  // namespace credtrace::collector
