// SqlStore: the Store's reads, retention and ping written once over SqlSession; SQLite and PostgreSQL derive from it.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "store/sql_session.h"
#include "store/store.h"

namespace credtrace::collector {

// A backend supplies its sessions (how it pools and serialises connections), how a DELETE counts its rows, and
// ingest; the queries and the order of retention are the same for both.
class SqlStore : public Store {
 public:
  Status events(const EventFilter& filter, EventPage& out) override;
  Status credentials(const CredentialFilter& filter, CredentialPage& out) override;
  Status credential(const std::string& fingerprint, int links_per_kind,
                    std::optional<CredentialSummary>& out) override;
  Status workloads(const WorkloadFilter& filter, WorkloadPage& out) override;
  Status alerts(const AlertFilter& filter, AlertPage& out) override;
  Status tool_calls(const ToolCallFilter& filter, ToolCallPage& out) override;
  Status prune(int64_t cutoff_ns, PruneResult& out) override;
  Status ping() override;

 protected:
  using SessionWork = std::function<Status(SqlSession&)>;
  // Runs `read` on a session for queries.
  virtual Status with_reader(const SessionWork& read) = 0;
  // Runs one retention DELETE on its own (ingest goes on between them); `deleted`: the rows it removed.
  virtual Status delete_rows(const char* sql, std::vector<SqlParam> params, uint64_t& deleted) = 0;
  // One page of events: a query over the events table by default (SQLite walks its event keys instead).
  virtual Status read_event_page(SqlSession& session, const EventFilter& filter, EventPage& out);
  // Retention's last DELETEs, without parameters: rows that belonged to what was deleted.
  virtual std::vector<const char*> prune_cleanup() const;
};

// Opens a new `Backend` with `open(args...)` and hands it out as the Store.
template <typename Backend, typename... Args>
Status open_as(std::unique_ptr<Store>& out, const Args&... args) {
  auto store = std::make_unique<Backend>();
  if (Status s = store->open(args...); !s.ok()) return s;
  out = std::move(store);
  return {};
}

}  // namespace credtrace::collector
