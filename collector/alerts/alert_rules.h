// Alert rules over one event's facts (pure functions): credential rules, MCP findings, tool definition changes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "alerts/alert_allowlist.h"
#include "ingest/batch_rows.h"

namespace credtrace::collector {

// Alert kinds (alerts.kind).
inline constexpr const char* kAlertSharedKey = "shared_key";            // one fingerprint, >1 workload or host
inline constexpr const char* kAlertLongLived = "long_lived";            // static credential older than the limit
inline constexpr const char* kAlertLongLivedJwt = "long_lived_jwt";     // JWT TTL above the limit
inline constexpr const char* kAlertHardCoded = "hard_coded";            // in an MCP/client config
inline constexpr const char* kAlertPlainHttp = "plain_http";            // sent without TLS off loopback
inline constexpr const char* kAlertNotAllowed = "destination_not_allowed";
// MCP findings the agent reports, one alert each (subjects in alert_rules.cpp), and tool definition changes.
inline constexpr const char* kAlertSecretInToolIo = "secret_in_tool_io";    // a credential in a call's input/output
inline constexpr const char* kAlertCredentialRelayed = "credential_relayed";  // carried by one call, used elsewhere
inline constexpr const char* kAlertTokenPassthrough = "token_passthrough";    // a client's token sent downstream
inline constexpr const char* kAlertAudienceMismatch = "audience_mismatch";    // a JWT sent outside its aud
inline constexpr const char* kAlertToolChanged = "tool_definition_changed";   // a server redefined a tool (rug pull)

struct AlertConfig {
  int64_t max_age_ns = 90LL * 86400 * 1'000'000'000;  // long_lived (0: off)
  int64_t max_jwt_ttl_seconds = 86400;                 // long_lived_jwt (0: off)
  Allowlist allowlist;
};

// One event breaking one rule. The alert is keyed by (kind, fingerprint, subject).
struct AlertHit {
  std::string kind, fingerprint, subject, credential_type;
  std::string detail;  // compact JSON object
  std::string workload_id;  // the workload the alert is about, when one is (MCP alerts); else empty
  size_t event = 0;    // index in BatchRows::events
  int64_t time_ns = 0;
};

// Hits of the rules that need only the event itself (not shared_key / long_lived, which need stored history).
std::vector<AlertHit> event_alerts(const EventRow& row, size_t index, const AlertConfig& config);

// A tool definition that differs from the one last seen for the same workload, server and tool: the alert's key
// and detail. `reported_by`: "agent" (an mcp_tool_changed event) or "collector" (mcp_tools compared with the store).
struct ToolChangeFacts {
  std::string workload_id, server_name, tool, previous_sha256, sha256, previous_session_id, session_id, reported_by;
  int64_t previous_seen_ns = 0;
};
AlertHit tool_changed_hit(const ToolChangeFacts& change, size_t index, int64_t time_ns);

// The event's destination is this host itself: localhost, 127.0.0.0/8, ::1 (the IP decides when it is known).
bool is_loopback_destination(const std::string& host, const std::string& ip);

// A non-JWT credential used at `use_ns`, first seen at `first_ns`, is older than the limit.
bool is_long_lived(int64_t first_ns, int64_t use_ns, const AlertConfig& config);

}  // namespace credtrace::collector
