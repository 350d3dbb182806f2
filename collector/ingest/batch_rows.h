// An IngestBatch validated and flattened into store rows: events plus per-batch credential/link/workload deltas.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/agent_health_table.h"
#include "common/status.h"
#include "credtrace/v1/ingest.pb.h"
#include "ingest/mcp_rows.h"

namespace credtrace::collector {

// What the alert rules need of one event, taken while the decoded Event is at hand (no second parse).
struct EventFacts {
  std::string credential_type;
  bool jwt = false;          // the credential is a JWT (claims present or a *jwt* type): not a static credential
  int64_t jwt_ttl_seconds = 0;
  bool has_destination = false;
  std::string dest_host, dest_ip;
  uint32_t dest_port = 0;
  bool dest_tls = false;
  std::string config_path;   // path of a source of kind "config" (hard-coded in a config), else empty
  bool config_source = false;
  std::vector<std::string> workload_names;  // for allow-lists that name the workload so (workload_names below)
  McpFacts mcp;                             // MCP calls, findings and tool changes
};

struct EventRow {
  std::string type;
  int64_t time_ns = 0;
  std::string host, agent_id, workload_id, fingerprint;
  std::string payload;  // the Event, protobuf-encoded (JSON is rendered at query time)
  EventFacts facts;
};

// Aggregate increments for one credential from one batch.
struct CredentialDelta {
  std::string fingerprint, type, preview;
  int64_t first_ns = 0, last_ns = 0;
  int64_t uses = 0;       // sum of credential_use.count
  int64_t exposures = 0;  // secret_exposure events
  int64_t events = 0;     // every event naming the credential
  size_t first_event = 0; // index (in BatchRows::events) of the event that gave first_ns
};

// A credential seen with a workload, host, destination or source (link kinds below).
struct LinkDelta {
  std::string fingerprint, kind, value;
  int64_t first_ns = 0, last_ns = 0;
  int64_t events = 0, uses = 0;
  size_t first_event = 0;  // index (in BatchRows::events) of the event that gave first_ns
};

inline constexpr const char* kLinkWorkload = "workload";
inline constexpr const char* kLinkHost = "host";
inline constexpr const char* kLinkDestination = "destination";  // value: JSON {"host","port","tls"} (or "ip")
inline constexpr const char* kLinkSource = "source";            // value: JSON {"kind","name","path","key"}

// The TLS coverage statuses a workload is stored with (Workload.tls_coverage); kTlsUnknown: no mcp_server_start or
// tls_coverage event reported it (or the agent did not examine it), stored as ''.
inline constexpr const char* kTlsCovered = "covered";
inline constexpr const char* kTlsPartial = "partial";
inline constexpr const char* kTlsNotCovered = "not_covered";
inline constexpr const char* kTlsNoneFound = "none_found";
inline constexpr const char* kTlsUnknown = "unknown";

// True for the events whose Workload carries the workload's current TLS state (the others may carry a stale copy).
bool carries_tls_state(const v1::Event& event);

struct WorkloadDelta {
  std::string id, host, name;  // name: MCP server name, else exe
  std::vector<std::string> names;  // its human names (workload_names) in the latest Workload of the batch
  std::string payload;         // latest Workload of the batch, protobuf-encoded
  int64_t first_ns = 0, last_ns = 0;
  int64_t events = 0;
  // The TLS state of the batch's latest mcp_server_start / tls_coverage event (carries_tls_state): a TlsCoverage
  // (tls without probe points, tls_coverage) protobuf-encoded, its status, and that event's time; tls_ns 0: none.
  std::string tls, tls_coverage;
  int64_t tls_ns = 0;
};

// Everything one batch adds to the store. Deltas are sorted by key so concurrent writers lock rows in one order.
struct BatchRows {
  std::string agent_id;
  uint64_t sequence = 0;
  int64_t received_ns = 0;
  std::vector<EventRow> events;
  std::vector<CredentialDelta> credentials;
  std::vector<LinkDelta> links;
  std::vector<WorkloadDelta> workloads;
  McpRows mcp;  // tool calls, their credentials, sessions, tool definitions
  std::vector<AgentHealthSnapshot> health;  // agent_health events, for /metrics (not stored apart from the events)
};

// A workload's human names, by which allow-lists, query filters and the CLI may name it: MCP server name, systemd
// unit and user unit, container id, Kubernetes pod as "namespace/pod" and pod alone (empty ones left out).
std::vector<std::string> workload_names(const v1::Workload& workload);

// Lowercases A-F in place (`changed` says whether it did); false when not 64 hex digits.
bool normalize_fingerprint(std::string& fingerprint, bool& changed);

struct BatchLimits {
  size_t max_events = 100000;
};

// Validates the batch (agent_id, fingerprints as 64 hex digits, redacted previews, event agent ids) and builds rows.
// Errors name the offending event index. `wire_events` (optional): the encoded bytes of each event as received
// (batch_event_slices); an event validation left unchanged is stored as those bytes instead of being re-encoded.
Status build_batch_rows(v1::IngestBatch& batch, int64_t received_ns, const BatchLimits& limits, BatchRows& out,
                        const std::vector<std::string_view>* wire_events = nullptr);

}  // namespace credtrace::collector
