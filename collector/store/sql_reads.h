// Store queries over any SqlSession (SQLite or PostgreSQL): events, credentials with links, workloads, alerts.
#pragma once

#include <optional>
#include <string>

#include "store/sql_session.h"
#include "store/store.h"

namespace credtrace::collector {

Status read_events(SqlSession& session, const EventFilter& filter, EventPage& out);
Status read_credentials(SqlSession& session, const CredentialFilter& filter, CredentialPage& out);
Status read_credential(SqlSession& session, const std::string& fingerprint, int links_per_kind,
                       std::optional<CredentialSummary>& out);
Status read_workloads(SqlSession& session, const WorkloadFilter& filter, WorkloadPage& out);
Status read_alerts(SqlSession& session, const AlertFilter& filter, AlertPage& out);

}  // namespace credtrace::collector
