// Pairing requests with answers by id per side, bounds and timeouts, and what initialize and tools/list answers tell.
#include "protocols/jsonrpc/call_tracker.h"

#include <algorithm>

namespace credtrace::protocols {
namespace {

Side other(Side side) { return side == Side::kClient ? Side::kServer : Side::kClient; }

CallRef ref_of(const ToolCall& call) { return CallRef{call.requester, call.method, call.name, call.id}; }

}  // namespace

std::string_view outcome_name(CallOutcome outcome) {
  switch (outcome) {
    case CallOutcome::kOk: return "ok";
    case CallOutcome::kToolError: return "tool_error";
    case CallOutcome::kJsonRpcError: return "jsonrpc_error";
    case CallOutcome::kNoAnswer: return "no_answer";
  }
  return "no_answer";
}

std::string_view no_answer_name(NoAnswerReason reason) {
  switch (reason) {
    case NoAnswerReason::kNone: return "";
    case NoAnswerReason::kTimeout: return "timeout";
    case NoAnswerReason::kSessionEnd: return "session_end";
    case NoAnswerReason::kEvicted: return "evicted";
    case NoAnswerReason::kReplaced: return "replaced";
    case NoAnswerReason::kCancelled: return "cancelled";
  }
  return "";
}

std::optional<CallRef> CallTracker::on_message(Side from, const JsonRpcMessage& message, uint64_t now_ns) {
  switch (message.kind) {
    case JsonRpcKind::kRequest: return on_request(from, message, now_ns);
    case JsonRpcKind::kNotification: on_notification(from, message, now_ns); break;
    case JsonRpcKind::kResponse:
    case JsonRpcKind::kErrorResponse: return on_answer(from, message, now_ns);
    case JsonRpcKind::kInvalid: ++stats_.invalid_messages; break;
  }
  return std::nullopt;
}

CallRef CallTracker::on_request(Side from, const JsonRpcMessage& message, uint64_t now_ns) {
  ++stats_.requests;
  Key key{from, message.id};
  if (auto it = index_.find(key); it != index_.end()) {
    ++stats_.duplicate_ids;
    give_up(it->second, NoAnswerReason::kReplaced, now_ns);
  }
  while (!order_.empty() && order_.size() >= std::max<size_t>(1, limits_.max_pending)) {
    ++stats_.evicted;
    give_up(order_.begin(), NoAnswerReason::kEvicted, now_ns);
  }
  if (from == Side::kClient && message.method == "initialize") {
    session_.client_name = message.client_name;
    session_.client_version = message.client_version;
    if (!session_.initialized) session_.protocol_version = message.protocol_version;
  }
  ToolCall call;
  call.requester = from;
  call.method = message.method;
  call.name = message.name;
  call.id = message.id;
  call.arguments_shape = message.arguments_shape;
  call.arguments_shape_truncated = message.arguments_shape_truncated;
  call.request_bytes = message.bytes;
  call.started_ns = now_ns;
  CallRef ref = ref_of(call);
  order_.push_back(Pending{key, std::move(call)});
  index_.emplace(std::move(key), std::prev(order_.end()));
  return ref;
}

void CallTracker::on_notification(Side from, const JsonRpcMessage& message, uint64_t now_ns) {
  ++stats_.notifications;
  if (message.request_id.empty()) return;  // only notifications/cancelled carries one
  auto found = index_.find(Key{from, message.request_id});
  if (found == index_.end()) return;
  ++stats_.cancelled;
  give_up(found->second, NoAnswerReason::kCancelled, now_ns);
}

std::optional<CallRef> CallTracker::on_answer(Side from, const JsonRpcMessage& message, uint64_t now_ns) {
  ++stats_.responses;
  auto found = index_.find(Key{other(from), message.id});
  if (found == index_.end()) {
    ++stats_.unmatched_responses;
    return std::nullopt;
  }
  auto it = found->second;
  index_.erase(found);
  ToolCall call = std::move(it->call);
  order_.erase(it);
  call.response_bytes = message.bytes;
  call.ended_ns = now_ns;
  if (message.kind == JsonRpcKind::kErrorResponse) {
    call.outcome = CallOutcome::kJsonRpcError;
    call.error_code = message.error_code;
  } else {
    call.outcome = message.is_error.value_or(false) ? CallOutcome::kToolError : CallOutcome::kOk;
    learn_from_answer(call, message);
  }
  report(call);
  return ref_of(call);
}

void CallTracker::learn_from_answer(ToolCall& call, const JsonRpcMessage& answer) {
  if (call.requester == Side::kClient && call.method == "initialize") {
    session_.server_name = answer.server_name;
    session_.server_version = answer.server_version;
    if (!answer.protocol_version.empty()) session_.protocol_version = answer.protocol_version;
    session_.server_capabilities = answer.capabilities;
    session_.initialized = true;
  }
  if (call.requester == Side::kClient && call.method == "tools/list" && !answer.tools_json.empty()) {
    call.tools = hash_tool_definitions(answer.tools_json);
    for (const ToolDefinitionHash& tool : call.tools) {
      if (tool_hashes_.size() >= kMaxTools && !tool_hashes_.count(tool.name)) {
        ++stats_.tools_not_kept;  // a session listing more distinct tools than any real server: bounded
        continue;
      }
      tool_hashes_[tool.name] = tool.sha256;
    }
  }
}

void CallTracker::expire(uint64_t now_ns) {
  for (auto it = order_.begin(); it != order_.end();) {
    auto next = std::next(it);
    if (now_ns >= it->call.started_ns && now_ns - it->call.started_ns >= limits_.timeout_ns) {
      ++stats_.timed_out;
      give_up(it, NoAnswerReason::kTimeout, now_ns);
    }
    it = next;
  }
}

void CallTracker::end_session(uint64_t now_ns) {
  while (!order_.empty()) {
    ++stats_.unanswered_at_end;
    give_up(order_.begin(), NoAnswerReason::kSessionEnd, now_ns);
  }
}

void CallTracker::give_up(std::list<Pending>::iterator it, NoAnswerReason reason, uint64_t now_ns) {
  index_.erase(it->key);
  ToolCall call = std::move(it->call);
  order_.erase(it);
  call.outcome = CallOutcome::kNoAnswer;
  call.no_answer = reason;
  call.ended_ns = now_ns;
  report(call);
}

void CallTracker::report(ToolCall& call) {
  call.session = session_;
  ++stats_.calls_reported;
  if (on_call_) on_call_(call);
}

}  // namespace credtrace::protocols
