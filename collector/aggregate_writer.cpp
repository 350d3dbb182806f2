// Ingest-transaction upserts of the aggregates (credentials, links, workloads), shared by the SQLite and PostgreSQL stores.
#include "aggregate_writer.h"

namespace credtrace::collector {
namespace {

Status upsert_credentials(SqlSession& session, const BatchRows& batch, const std::vector<int64_t>& ids,
                          AggregateState& out) {
  for (const auto& c : batch.credentials) {
    CredentialState& state = out.credentials[c.fingerprint];
    Status s = session.run(sql::kUpsertCredential,
                           {c.fingerprint, c.type, c.preview, c.first_ns, c.last_ns, c.uses, c.exposures, c.events,
                            ids[c.first_event]},
                           [&](const SqlRow& row) { state = CredentialState{row.int_at(0), row.int_at(1)}; });
    if (!s.ok()) return s;
  }
  return {};
}

bool is_identity_link(const std::string& kind) { return kind == kLinkWorkload || kind == kLinkHost; }

// A link is new (or now starts earlier) when its first_event is this batch's event.
Status upsert_links(SqlSession& session, const BatchRows& batch, const std::vector<int64_t>& ids, AggregateState& out) {
  for (const auto& l : batch.links) {
    int64_t mine = ids[l.first_event], stored = 0;
    Status s = session.run(sql::kUpsertLink,
                           {l.fingerprint, l.kind, l.value, l.first_ns, l.last_ns, l.events, l.uses, mine},
                           [&](const SqlRow& row) { stored = row.int_at(0); });
    if (!s.ok()) return s;
    if (stored == mine && is_identity_link(l.kind)) out.new_links[{l.fingerprint, l.kind}].push_back(mine);
  }
  return {};
}

Status upsert_workloads(SqlSession& session, const BatchRows& batch) {
  for (const auto& w : batch.workloads) {
    Status s = session.run(sql::kUpsertWorkload, {w.id, w.host, w.name, SqlParam::blob(w.payload), w.first_ns,
                                                  w.last_ns, w.events});
    if (!s.ok()) return s;
  }
  return {};
}

}  // namespace

Status write_aggregates(SqlSession& session, const BatchRows& batch, const std::vector<int64_t>& event_ids,
                        AggregateState& out) {
  out = {};
  if (Status s = upsert_credentials(session, batch, event_ids, out); !s.ok()) return s;
  if (Status s = upsert_links(session, batch, event_ids, out); !s.ok()) return s;
  return upsert_workloads(session, batch);
}

}  // namespace credtrace::collector
