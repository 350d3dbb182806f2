// Public API: pairing one MCP session's JSON-RPC requests with their answers into call records (no kernel, no agent).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocols/jsonrpc/message.h"
#include "protocols/jsonrpc/tool_hash.h"

namespace credtrace::protocols {

// The side of a session a message came from: the client (MCP host) writes to the server's stdin, the server answers
// on its stdout. Servers also send requests (sampling/createMessage, elicitation/create, roots/list).
enum class Side { kClient, kServer };

enum class CallOutcome {
  kOk,            // a result without isError: true
  kToolError,     // a result with isError: true (the tool failed; MCP reports it in the result)
  kJsonRpcError,  // an error response (error_code holds its code when it was an integer)
  kNoAnswer,      // no answer: see NoAnswerReason
};

enum class NoAnswerReason {
  kNone,
  kTimeout,     // CallTrackerLimits::timeout_ns passed (expire())
  kSessionEnd,  // the session ended first (end_session(): the server exited, the stream closed)
  kEvicted,     // the oldest pending call when CallTrackerLimits::max_pending was reached
  kReplaced,    // another request of the same side reused its id
  kCancelled,   // its requester sent notifications/cancelled for it (the answer is then optional)
};

std::string_view outcome_name(CallOutcome outcome);       // "ok", "tool_error", "jsonrpc_error", "no_answer"
// "", "timeout", "session_end", "evicted", "replaced", "cancelled"
std::string_view no_answer_name(NoAnswerReason reason);

// What initialize told about the session.
struct SessionInfo {
  std::string protocol_version;  // negotiated (the answer's), else the one the client asked for
  std::string client_name, client_version;
  std::string server_name, server_version;
  std::vector<std::string> server_capabilities;  // keys of the answer's capabilities, sorted
  bool initialized = false;                      // an answer to initialize was seen
};

// One request and its answer (or its absence). Metadata only: never an argument or result value.
struct ToolCall {
  Side requester = Side::kClient;
  std::string method;
  std::string name;  // the tool (tools/call) or prompt (prompts/get); "" otherwise
  std::string id;    // canonical JSON text of the JSON-RPC id
  std::string arguments_shape;
  bool arguments_shape_truncated = false;
  uint64_t request_bytes = 0;
  uint64_t response_bytes = 0;  // 0 without an answer
  uint64_t started_ns = 0;      // caller's clock: when the request was seen
  uint64_t ended_ns = 0;        // when the answer was seen, or when it was given up (no_answer)
  CallOutcome outcome = CallOutcome::kNoAnswer;
  std::optional<int64_t> error_code;
  NoAnswerReason no_answer = NoAnswerReason::kNone;
  SessionInfo session;  // as known when the call was reported
  std::vector<ToolDefinitionHash> tools;  // tools/list answers: each tool's definition hash
};

// The call a message belongs to (the request it makes, or the one it answers), for whoever inspects the message's
// values next (e.g. a credential in a tool's result names the tool).
struct CallRef {
  Side requester = Side::kClient;
  std::string method;
  std::string name;
  std::string id;
};

struct CallTrackerLimits {
  size_t max_pending = 1024;                       // requests awaiting an answer (both sides together)
  uint64_t timeout_ns = 300ull * 1'000'000'000ull; // a request unanswered this long is reported as kNoAnswer
};

// Every counter only ever grows.
struct CallTrackerStats {
  uint64_t requests = 0;
  uint64_t notifications = 0;
  uint64_t responses = 0;             // results and error responses
  uint64_t invalid_messages = 0;      // kInvalid messages handed in
  uint64_t calls_reported = 0;        // ToolCall records given to the callback
  uint64_t unmatched_responses = 0;   // answers to no pending request (unknown, timed out or null id)
  uint64_t duplicate_ids = 0;         // requests reusing a pending id (the older reported kReplaced)
  uint64_t evicted = 0;               // pending calls reported at the max_pending bound
  uint64_t timed_out = 0;
  uint64_t unanswered_at_end = 0;     // pending calls reported by end_session()
  uint64_t cancelled = 0;             // pending calls their requester cancelled (notifications/cancelled)
  uint64_t tools_not_kept = 0;        // tool definitions past CallTracker::kMaxTools distinct names
};

// One session (one server process's stdio, or one Streamable HTTP session). Requests are paired by id with the
// first answer from the other side; every request becomes one ToolCall, reported to the callback when answered or
// given up. Bounded: at max_pending the oldest pending request is reported as kNoAnswer (kEvicted). The callback
// must not call back into the tracker.
class CallTracker {
 public:
  using OnCall = std::function<void(const ToolCall&)>;
  static constexpr size_t kMaxTools = 4096;  // distinct tool names whose definition hash a session keeps

  CallTracker(CallTrackerLimits limits, OnCall on_call) : limits_(limits), on_call_(std::move(on_call)) {}
  CallTracker(const CallTracker&) = delete;
  CallTracker& operator=(const CallTracker&) = delete;

  // A message `from` one side, seen at now_ns (any clock, the same for every call). Returns the call it belongs to:
  // the request's own, or the one an answer completes; nullopt for notifications, invalid and unmatched messages.
  std::optional<CallRef> on_message(Side from, const JsonRpcMessage& message, uint64_t now_ns);
  // Reports pending requests older than timeout_ns as kNoAnswer (kTimeout).
  void expire(uint64_t now_ns);
  // The session ended: every pending request is reported as kNoAnswer (kSessionEnd).
  void end_session(uint64_t now_ns);

  const SessionInfo& session() const { return session_; }
  // tool name -> SHA-256 of its definition, from every tools/list answer of the session (a later page or a repeated
  // list overwrites a tool's entry).
  const std::map<std::string, std::string>& tool_hashes() const { return tool_hashes_; }
  const CallTrackerStats& stats() const { return stats_; }
  size_t pending() const { return order_.size(); }

 private:
  using Key = std::pair<Side, std::string>;  // the requester and the id
  struct Pending {
    Key key;
    ToolCall call;
  };

  CallRef on_request(Side from, const JsonRpcMessage& message, uint64_t now_ns);
  void on_notification(Side from, const JsonRpcMessage& message, uint64_t now_ns);
  std::optional<CallRef> on_answer(Side from, const JsonRpcMessage& message, uint64_t now_ns);
  void learn_from_answer(ToolCall& call, const JsonRpcMessage& answer);
  void give_up(std::list<Pending>::iterator it, NoAnswerReason reason, uint64_t now_ns);
  void report(ToolCall& call);

  CallTrackerLimits limits_;
  OnCall on_call_;
  std::list<Pending> order_;  // oldest first
  std::map<Key, std::list<Pending>::iterator> index_;
  SessionInfo session_;
  std::map<std::string, std::string> tool_hashes_;
  CallTrackerStats stats_;
};

}  // namespace credtrace::protocols
