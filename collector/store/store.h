// Store: the collector's storage interface (ingest with dedupe, queries, retention); SQLite and PostgreSQL implement it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "alerts/alert_rules.h"
#include "common/status.h"
#include "ingest/batch_rows.h"

namespace credtrace::collector {

struct IngestOutcome {
  bool duplicate = false;  // (agent_id, sequence) was already stored: nothing added
  uint64_t accepted = 0;   // events of the batch held in storage
  uint64_t tool_calls = 0; // tool calls of the batch stored (a call id already stored keeps its first report)
};

// `workload` in a filter: a workload id (wl_…) or one of its human names (workload_names in ingest/batch_rows.h); a
// name matches every workload it names.
struct EventFilter {
  std::string type, workload, host, fingerprint;
  std::optional<int64_t> since_ns, until_ns;  // event time, since inclusive, until exclusive
  int64_t before_id = 0;                      // cursor: only events with a smaller id (0: from the newest)
  int limit = 100;
};

struct StoredEvent {
  int64_t id = 0;
  std::string payload;  // protobuf-encoded credtrace.v1.Event
};

struct EventPage {
  std::vector<StoredEvent> events;
  int64_t next_before_id = 0;  // 0 when this is the last page
};

struct LinkSummary {
  std::string value;
  int64_t first_ns = 0, last_ns = 0, events = 0, uses = 0;
};

struct LinkGroup {
  int64_t total = 0;                // links of this kind, including those beyond the per-kind limit
  std::vector<LinkSummary> items;   // most recently seen first
};

// An MCP call tied to a credential (tool_call_credentials), with what is stored of the call itself.
struct CredentialCall {
  std::string agent_id, call_id, via, tool, server_name;
  bool ambiguous = false;
  int64_t first_ns = 0, last_ns = 0, events = 0;
  bool stored = false;  // the mcp_tool_call event of the call is stored (the fields below are set)
  std::string outcome, method, workload_id;
  int64_t event_id = 0, time_ns = 0;
};

struct CredentialSummary {
  std::string fingerprint, type, preview;
  int64_t first_ns = 0, last_ns = 0, uses = 0, exposures = 0, events = 0;
  std::map<std::string, LinkGroup> links;  // by kind: workload, host, destination, source
  std::vector<CredentialCall> calls;       // detail only: the calls that used it, most recent first
  int64_t calls_total = 0;
};

struct CredentialFilter {
  std::string type, workload, host;
  std::string after;  // cursor: only fingerprints greater than this
  int limit = 100;
  int links_per_kind = 100;
};

struct CredentialPage {
  std::vector<CredentialSummary> credentials;
  std::string next_after;  // empty when this is the last page
};

struct WorkloadSummary {
  std::string id, host, name;
  std::string payload;  // protobuf-encoded credtrace.v1.Workload (latest seen)
  int64_t first_ns = 0, last_ns = 0, events = 0, credentials = 0;
  std::string tls;           // protobuf-encoded credtrace.v1.TlsCoverage of its latest TLS report, or empty: none
  std::string tls_coverage;  // covered, partial, not_covered, none_found, or empty: unknown
};

struct WorkloadFilter {
  std::string host, workload;
  std::string after;
  int limit = 100;
  std::optional<std::string> tls_coverage;  // the stored status ('' for unknown), or any
};

struct WorkloadPage {
  std::vector<WorkloadSummary> workloads;
  std::string next_after;
};

struct AlertSummary {
  int64_t id = 0;
  std::string kind, fingerprint, subject, credential_type, preview;
  std::string detail;  // JSON object
  int64_t first_ns = 0, last_ns = 0, hits = 0;
  int64_t evidence_total = 0;         // evidence rows stored (at most kMaxAlertEvidence)
  std::vector<int64_t> evidence;      // event ids, ascending
  int64_t workloads = 0, hosts = 0;   // of the credential, now
  std::string workload_id;            // the workload the alert is about (MCP alerts), else empty
};

struct AlertFilter {
  std::string kind, fingerprint, type, workload;
  std::optional<int64_t> since_ns;  // alerts last seen at or after
  int64_t before_id = 0;            // cursor: only alerts with a smaller id (0: from the newest)
  int limit = 100;
};

struct AlertPage {
  std::vector<AlertSummary> alerts;
  int64_t next_before_id = 0;
};

// A credential tied to a call (CredentialCall above, seen from the call).
struct CallCredential {
  std::string fingerprint, via, type, preview;
  bool ambiguous = false;
  int64_t events = 0;
};

struct ToolCallSummary {
  int64_t event_id = 0;  // the mcp_tool_call event (the cursor orders by it)
  std::string agent_id, call_id, workload_id, server_name, client_name, tool, method, transport, session_id, side,
      requester, outcome, no_answer;
  bool has_error_code = false;
  int64_t error_code = 0, duration_ns = 0, request_bytes = 0, response_bytes = 0, time_ns = 0;
  std::vector<CallCredential> credentials;
};

// `server`: the server's name (serverInfo.name, else the workload's MCP server name); `client` likewise;
// `workload` as in EventFilter; `fingerprint`: calls a credential is tied to; `outcome`: ok, tool_error,
// jsonrpc_error, no_answer or unknown.
struct ToolCallFilter {
  std::string server, tool, client, workload, fingerprint, outcome;
  std::optional<int64_t> since_ns, until_ns;  // call time (the answer, or when it was given up)
  int64_t before_id = 0;                      // cursor: only calls whose event id is smaller (0: from the newest)
  int limit = 100;
};

struct ToolCallPage {
  std::vector<ToolCallSummary> calls;
  int64_t next_before_id = 0;
};

struct PruneResult {
  uint64_t events = 0, batches = 0, credentials = 0, links = 0, workloads = 0, alerts = 0;
  uint64_t tool_calls = 0, call_credentials = 0, sessions = 0, tool_definitions = 0;
};

class Store {
 public:
  virtual ~Store() = default;
  // Stores the batch and its (agent_id, sequence) in one transaction, or reports it as a duplicate.
  virtual Status ingest(const BatchRows& batch, IngestOutcome& out) = 0;
  virtual Status events(const EventFilter& filter, EventPage& out) = 0;
  virtual Status credentials(const CredentialFilter& filter, CredentialPage& out) = 0;
  virtual Status credential(const std::string& fingerprint, int links_per_kind,
                            std::optional<CredentialSummary>& out) = 0;
  virtual Status workloads(const WorkloadFilter& filter, WorkloadPage& out) = 0;
  virtual Status alerts(const AlertFilter& filter, AlertPage& out) = 0;
  virtual Status tool_calls(const ToolCallFilter& filter, ToolCallPage& out) = 0;
  // Deletes events, batch records, links, credentials, workloads, alerts and MCP rows last seen before cutoff_ns.
  virtual Status prune(int64_t cutoff_ns, PruneResult& out) = 0;
  virtual Status ping() = 0;
};

struct StoreOptions {
  std::string url;          // "sqlite:PATH" or "postgres://..." / "postgresql://..."
  int readers = 4;          // read connections (SQLite) / pool size (PostgreSQL)
  bool sqlite_sync_full = true;  // PRAGMA synchronous=FULL: acknowledged batches survive power loss
  AlertConfig alerts;            // rules applied at ingest
};

// Opens the store named by options.url and applies pending migrations.
Status open_store(const StoreOptions& options, std::unique_ptr<Store>& out);

}  // namespace credtrace::collector
