// MCP activity of a batch as store rows: tool calls, the credentials linked to each call, sessions, tool definitions.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "common/status.h"
#include "credtrace/v1/events.pb.h"

namespace credtrace::collector {

// Outcomes a tool call is stored with; anything else an agent sends is stored as kOutcomeUnknown (the event keeps
// the text as sent).
inline constexpr const char* kToolCallOutcomes[] = {"ok", "tool_error", "jsonrpc_error", "no_answer"};
inline constexpr const char* kOutcomeUnknown = "unknown";

// Longest text kept in a tool-call, session or definition column (the event keeps the full value).
inline constexpr size_t kMaxMcpColumn = 256;

// One mcp_tool_call event. An empty call_id is stored under "event-<event id>" (the writer knows the id).
struct ToolCallRow {
  std::string call_id, workload_id, server_name, client_name, tool, method, transport, session_id, side, requester;
  std::string outcome, no_answer;
  bool has_error_code = false;
  int64_t error_code = 0;
  int64_t duration_ns = 0, request_bytes = 0, response_bytes = 0, time_ns = 0;
  size_t event = 0;  // index in BatchRows::events
};

// How a credential is tied to a call (tool_call_credentials.via).
inline constexpr const char* kViaDownstream = "downstream";          // a Downstream entry of the call
inline constexpr const char* kViaCarried = "carried";                // credential_relayed: the call that carried it
inline constexpr const char* kViaTokenPresented = "token_presented";  // token_exchange during the call: sent
inline constexpr const char* kViaTokenIssued = "token_issued";        // token_exchange during the call: obtained
// Other values: the type of the event whose tool_call (or SecretInToolIo.call) names the call: credential_use,
// secret_in_tool_io, token_passthrough, audience_mismatch, credential_relayed.

// A credential fingerprint tied to one call of the batch's agent, aggregated over the batch.
struct CallCredentialRow {
  std::string call_id, fingerprint, via, type, preview, tool, server_name;
  bool ambiguous = true;  // every event naming it named it as one of several candidates
  int64_t first_ns = 0, last_ns = 0, events = 0;
  size_t first_event = 0;
};

// One mcp_session event. An empty session_id is stored under "event-<event id>".
struct SessionRow {
  std::string workload_id, session_id, transport, side, protocol_version, client_name, client_version, server_name,
      server_version;
  int64_t time_ns = 0;
  size_t event = 0;
};

// One tool definition of an mcp_tools event, in event order.
struct ToolDefinitionRow {
  std::string workload_id, server_name, tool, sha256, session_id;
  int64_t time_ns = 0;
  size_t event = 0;
};

struct McpRows {
  std::vector<ToolCallRow> calls;                  // sorted by call_id (the writer locks rows in key order)
  std::vector<CallCredentialRow> call_credentials; // sorted by (call_id, fingerprint, via)
  std::vector<SessionRow> sessions;
  std::vector<ToolDefinitionRow> tool_definitions; // in event order
  size_t calls_without_id = 0;  // stored under their event id
  size_t unknown_outcomes = 0;  // stored as kOutcomeUnknown
};

// What the MCP alert rules need of one event (alerts/alert_rules.cpp), taken while the event is decoded.
struct McpFacts {
  std::string server_name;  // the event's workload: its MCP server name, else its executable
  // The call a finding names: secret_in_tool_io.call, else Event.tool_call.call (empty when none or ambiguous).
  std::string call_id, call_tool, call_server, call_method;
  std::string direction, sender;                          // secret_in_tool_io
  std::string relay, carried_by_server, carried_by_call;  // credential_relayed
  std::vector<std::string> aud;                           // audience_mismatch
  std::string received_path;                              // token_passthrough
  uint32_t received_port = 0;
  std::string tool, previous_sha256, sha256, previous_session_id, session_id;  // mcp_tool_changed
  int64_t previous_seen_ns = 0;
};

// Empty for events without an MCP finding or tool change (the rules read nothing else).
McpFacts mcp_facts_of(const v1::Event& event);

// Collects the rows of one event (index `index` in the batch, time `time_ns`) into an McpRowsBuilder.
class McpRowsBuilder {
 public:
  void add_event(const v1::Event& event, size_t index, int64_t time_ns);
  McpRows finish();

 private:
  using LinkKey = std::tuple<std::string, std::string, std::string>;  // call_id, fingerprint, via
  void add_call(const v1::Event& event, size_t index, int64_t time_ns);
  void add_link(const v1::ToolCallRef& call, const v1::Credential& credential, const std::string& via, bool ambiguous,
                int64_t time_ns, size_t index);
  void add_links_of(const v1::Event& event, size_t index, int64_t time_ns);
  // Ties `credential` to the call Event.tool_call names, or to each candidate (ambiguous).
  void link_to_calls(const v1::Event& event, const v1::Credential& credential, const std::string& via, size_t index,
                     int64_t time_ns);
  void add_session(const v1::Event& event, size_t index, int64_t time_ns);
  void add_definitions(const v1::Event& event, size_t index, int64_t time_ns);

  McpRows rows_;
  std::map<LinkKey, CallCredentialRow> links_;
};

// Checks the credentials nested in MCP and token events (Downstream, TokenExchange presented/issued) as the batch
// checks Event.credential: a fingerprint is 64 hex digits (lowercased in place, `changed` set), a preview at most
// 64 bytes. The message names the first offending field.
Status validate_nested_credentials(v1::Event& event, bool& changed);

// A column's text: at most kMaxMcpColumn bytes, cut at a UTF-8 character boundary.
std::string mcp_column(const std::string& text);

// "ok", "tool_error", "jsonrpc_error", "no_answer", else kOutcomeUnknown.
std::string known_outcome(const std::string& outcome);

}  // namespace credtrace::collector
