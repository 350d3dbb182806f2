// PostgreSQL ingest-transaction aggregates: write_aggregates with one array (unnest) upsert per table.
#include "store/postgres/pg_aggregate_writer.h"

#include "store/postgres/pg_db.h"

namespace credtrace::collector {
namespace {

Status upsert_credentials(SqlSession& session, const BatchRows& batch, const std::vector<int64_t>& ids,
                          UpsertResults& results) {
  if (batch.credentials.empty()) return {};
  PgArray fp, type, preview, first, last, uses, exposures, events, first_event;
  for (const auto& c : batch.credentials) {
    fp.add(c.fingerprint), type.add(c.type), preview.add(c.preview), first.add(c.first_ns), last.add(c.last_ns);
    uses.add(c.uses), exposures.add(c.exposures), events.add(c.events), first_event.add(ids[c.first_event]);
  }
  Status s = session.run(sql::kUpsertCredentialArrays,
                         {fp.param(), type.param(), preview.param(), first.param(), last.param(), uses.param(),
                          exposures.param(), events.param(), first_event.param()},
                         [&](const SqlRow& row) { results.credential_row(row); });
  return s.ok() ? results.update_types(session) : s;
}

Status upsert_links(SqlSession& session, const BatchRows& batch, const std::vector<int64_t>& ids,
                    UpsertResults& results) {
  if (batch.links.empty()) return {};
  PgArray fp, kind, value, first, last, events, uses, first_event;
  for (const auto& l : batch.links) {
    fp.add(l.fingerprint), kind.add(l.kind), value.add(l.value), first.add(l.first_ns), last.add(l.last_ns);
    events.add(l.events), uses.add(l.uses), first_event.add(ids[l.first_event]);
  }
  Status s = session.run(sql::kUpsertLinkArrays,
                         {fp.param(), kind.param(), value.param(), first.param(), last.param(), events.param(),
                          uses.param(), first_event.param()},
                         [&](const SqlRow& row) { results.link_row(row); });
  results.links_done();
  return s;
}

Status upsert_workloads(SqlSession& session, const BatchRows& batch) {
  if (batch.workloads.empty()) return {};
  PgArray id, host, name, payload, first, last, events;
  for (const auto& w : batch.workloads) {
    id.add(w.id), host.add(w.host), name.add(w.name), payload.add_bytea(w.payload);
    first.add(w.first_ns), last.add(w.last_ns), events.add(w.events);
  }
  return session.run(sql::kUpsertWorkloadArrays, {id.param(), host.param(), name.param(), payload.param(),
                                                  first.param(), last.param(), events.param()});
}

}  // namespace

Status pg_write_aggregates(SqlSession& session, const BatchRows& batch, const std::vector<int64_t>& event_ids,
                           AggregateState& out) {
  out = {};
  UpsertResults results(batch, event_ids, out);
  if (Status s = upsert_credentials(session, batch, event_ids, results); !s.ok()) return s;
  if (Status s = upsert_links(session, batch, event_ids, results); !s.ok()) return s;
  return upsert_workloads(session, batch);
}

}  // namespace credtrace::collector
