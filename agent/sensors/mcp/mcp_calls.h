// The MCP call book: every MCP session a sensor sees (stdio pipes, Streamable HTTP, HTTP+SSE), its calls paired and
// reported (mcp_tool_call, mcp_session, mcp_tools, mcp_tool_changed), what crossed them, and the calls in flight
// that downstream credential uses are linked to. Sensors feed it messages; it never reads the kernel.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/agent_config.h"
#include "credtrace/v1/events.pb.h"
#include "events/credential_registry.h"
#include "events/event_factory.h"
#include "export/event_sink.h"
#include "protocols/jsonrpc/call_tracker.h"
#include "secrets/fingerprint.h"

namespace credtrace::sensors {

// Who a session is between, as its sensor knows it when the session opens.
struct McpSessionOrigin {
  std::string transport;     // stdio, http, sse
  std::string side;          // server: seen in the server process; client: seen in the client process
  uint32_t server_pid = 0;   // the server's root process when the server is on this host (0 when not)
  std::string session_id;    // Mcp-Session-Id; "" for stdio (the book makes one)
  credtrace::v1::Process process;    // the process the messages were seen in
  // its workload (shared with the process tracker's server: one copy per server)
  std::shared_ptr<const credtrace::v1::Workload> workload = std::make_shared<const credtrace::v1::Workload>();
};

// A caller-chosen key naming one session for as long as it lasts: "stdio:<pid>:<inode>", "http:<pid>:<session>".
using McpSessionKey = std::string;

struct McpCallsOptions {
  bool enabled = true;          // off: open_session() opens nothing (counted), so no call is ever reported
  bool arguments_shape = true;  // off: calls carry no arguments shape
  protocols::CallTrackerLimits limits;
};

McpCallsOptions mcp_calls_options(const config::McpToolCallsConfig& config);

struct McpCallsDeps {
  const secrets::Fingerprinter& fingerprinter;
  const events::EventFactory& events;
  exporter::EventSink& sink;
  events::CredentialRegistry& registry;
};

class McpCalls {
 public:
  McpCalls(McpCallsDeps deps, McpCallsOptions options);
  ~McpCalls();
  McpCalls(const McpCalls&) = delete;
  McpCalls& operator=(const McpCalls&) = delete;

  // Opens the session if it is not open (a second call for an open key updates nothing but an empty session id).
  void open_session(const McpSessionKey& key, McpSessionOrigin origin);
  bool has_session(const McpSessionKey& key) const { return sessions_.count(key) != 0; }
  // A message from one side of an open session (ignored, counted, for a key not open). Its values are inspected for
  // credentials; they are wiped by the parser after the call, never kept.
  void on_message(const McpSessionKey& key, protocols::Side from, protocols::JsonRpcMessage& message, uint64_t now_ns);
  // Bytes `from` sent were not captured (a gap, a cut answer): calls of the other side now in flight that end
  // unanswered are reported with no_answer "capture_gap" (their answer may have been in them), not as unanswered.
  void capture_gap(const McpSessionKey& key, protocols::Side from);
  // The session ended (stream closed, server exited): calls still in flight are reported as no_answer.
  void end_session(const McpSessionKey& key, uint64_t now_ns);
  // Every session whose server is this pid ended.
  void end_server(uint32_t server_pid, uint64_t now_ns);
  // Reports calls in flight longer than the timeout.
  void expire(uint64_t now_ns);
  // At shutdown: every session ends.
  void stop(uint64_t now_ns);

  // Whether link_downstream would do anything with a request of that server at now_ns carrying that credential
  // (a call of the server in flight, or a credential an earlier result carried): callers skip building it otherwise.
  bool wants_downstream(uint32_t server_pid, const std::string& fingerprint, uint64_t now_ns) const;

  // A request (with a credential, or a bare connection when credential is empty) made by a process of the server
  // `server_pid` at now_ns: the calls of that server in flight get it as downstream, and the link names them (an
  // empty link when none was in flight).
  // process/workload: who made it (default: the server's session's); a credential that an earlier call's result
  // carried from another server is reported as credential_relayed.
  credtrace::v1::ToolCallLink link_downstream(uint32_t server_pid, const credtrace::v1::Downstream& use,
                                              uint64_t now_ns, const credtrace::v1::Process* process = nullptr,
                                              const credtrace::v1::Workload* workload = nullptr);

  void report(credtrace::v1::AgentHealth& health) const;

 private:
  struct Session;
  static constexpr size_t kMaxDownstream = 64;
  struct InFlight {
    std::string call_id;
    uint64_t started_ns = 0;
    credtrace::v1::ToolCallRef ref;
    std::vector<credtrace::v1::Downstream> downstream;
    std::set<std::string> downstream_keys;
    bool answer_maybe_lost = false;  // the answering side's capture had a gap while it was in flight
  };
  std::vector<InFlight*> client_calls_in_flight(uint32_t server_pid, uint64_t now_ns) const;
  credtrace::v1::ToolCallLink link_in_flight(uint32_t server_pid, const credtrace::v1::Downstream& use,
                                             uint64_t now_ns);
  void record_downstream(InFlight& flight, const credtrace::v1::Downstream& use, bool ambiguous);

  // A credential a call's result carried into the model's context: where from, for credential_relayed.
  struct Carried {
    credtrace::v1::ToolCallRef call;
    std::string workload_id;
    std::string server_name;
    uint32_t server_pid = 0;
    std::string direction;
    int64_t seen_unix_ns = 0;
  };
  static constexpr size_t kMaxCarried = 4096;
  static constexpr size_t kMaxRelaysRemembered = 65536;
  static constexpr size_t kMaxToolOwners = 4096;  // (workload, server name) pairs whose tool definitions are kept
  void remember_carried(const Session& session, const credtrace::v1::ToolCallRef& call, const std::string& fingerprint,
                        const std::string& direction);
  // The credential, carried by a result of another server, is used (relay "credential_use") or sent into a call
  // (relay "tool_arguments") by `workload`.
  void check_relay(const credtrace::v1::Credential& credential, uint32_t user_server_pid,
                   const credtrace::v1::Process& process, const credtrace::v1::Workload& workload,
                   const std::string& relay, const credtrace::v1::ToolCallLink& link,
                   const credtrace::v1::Downstream* use);
  Session* session_of_server(uint32_t server_pid);

  Session* find(const McpSessionKey& key);
  void on_call(Session& session, const protocols::ToolCall& call);
  void after_message(Session& session, protocols::Side from, const protocols::JsonRpcMessage& message,
                     const std::optional<protocols::CallRef>& call, uint64_t now_ns);
  void inspect_values(Session& session, protocols::Side from, const protocols::JsonRpcMessage& message,
                      const protocols::CallRef& call);
  void emit_secret_in_tool_io(Session& session, protocols::Side from, const protocols::CallRef& call,
                              const std::string& direction, credtrace::v1::Credential credential);
  credtrace::v1::ToolCallRef ref_of(const Session& session, const protocols::CallRef& call) const;
  std::string server_name_of(const Session& session) const;
  void emit_session(Session& session);
  void emit_tools(Session& session);
  std::string call_id_for(const Session& session, protocols::Side requester, const std::string& jsonrpc_id) const;

  McpCallsDeps deps_;
  McpCallsOptions options_;
  uint64_t sessions_not_followed_ = 0;  // opened while disabled
  std::map<McpSessionKey, std::unique_ptr<Session>> sessions_;
  uint64_t next_session_ = 1;
  // Tool definitions last reported per workload id: tool name → (sha256, session id, seen ns).
  struct KnownTool {
    std::string sha256;
    std::string session_id;
    int64_t seen_unix_ns = 0;
  };
  std::map<std::string, std::map<std::string, KnownTool>> known_tools_;
  uint64_t messages_unattributed_ = 0;
  uint64_t calls_reported_ = 0;
  uint64_t sessions_reported_ = 0;
  uint64_t tool_changes_ = 0;
  uint64_t downstream_linked_ = 0;
  uint64_t downstream_ambiguous_ = 0;
  uint64_t downstream_dropped_ = 0;
  uint64_t relays_ = 0;
  uint64_t tool_owners_not_kept_ = 0;
  uint64_t answers_maybe_lost_ = 0;
  std::map<std::string, Carried> carried_;         // fingerprint → the latest result that carried it
  std::vector<std::string> carried_order_;         // fingerprints, oldest first (bounded by kMaxCarried)
  std::set<std::string> relays_reported_;          // fingerprint, carrying call, user workload, relay
  uint64_t secrets_in_tool_io_ = 0;
  uint64_t values_truncated_ = 0;
};

}  // namespace credtrace::sensors
