// Ingest-transaction upserts of the aggregates (credentials, links, workloads), shared by the SQLite and PostgreSQL stores.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

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
};

// Reads what the credential and link upserts return (sql::kCredentialConflict, kLinkConflict, and the PostgreSQL
// array forms) into an AggregateState, whichever way a store ran them.
class UpsertResults {
 public:
  // event_ids[i] is the stored id of batch.events[i].
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

// event_ids[i] is the stored id of batch.events[i]. Multi-row upserts (kRowsPerStatement).
Status write_aggregates(SqlSession& session, const BatchRows& batch, const std::vector<int64_t>& event_ids,
                        AggregateState& out);

}  // namespace credtrace::collector
