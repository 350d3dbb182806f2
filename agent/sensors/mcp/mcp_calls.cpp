// The MCP call book: sessions by key, their call trackers, the calls in flight, and the events they yield.
#include "sensors/mcp/mcp_calls.h"

#include <google/protobuf/util/time_util.h>

#include <chrono>

#include "common/digest.h"
#include "events/credential_facts.h"
#include "protocols/jsonrpc/message.h"
#include "secrets/argv_redact.h"
#include "secrets/detectors.h"

namespace credtrace::sensors {
namespace {

double seconds_between(uint64_t start_ns, uint64_t end_ns) {
  return end_ns > start_ns ? static_cast<double>(end_ns - start_ns) / 1e9 : 0.0;
}

int64_t unix_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Metadata the peers chose (method and tool names, ids, client and server info) is exported, so a credential
// typed into one is redacted like any other text that leaves the agent.
std::string exported(std::string_view text) { return secrets::redact_text(text); }

std::string_view side_name(protocols::Side side) { return side == protocols::Side::kClient ? "client" : "server"; }

std::string_view origin_name(protocols::ValueOrigin origin) {
  switch (origin) {
    case protocols::ValueOrigin::kArguments: return "arguments";
    case protocols::ValueOrigin::kParams: return "params";
    case protocols::ValueOrigin::kResult: return "result";
    case protocols::ValueOrigin::kError: return "error";
  }
  return "params";
}

}  // namespace

McpCallsOptions mcp_calls_options(const config::McpToolCallsConfig& config) {
  McpCallsOptions options;
  options.enabled = config.enabled;
  options.arguments_shape = config.arguments_shape;
  options.limits.max_pending = config.max_pending;
  options.limits.timeout_ns = static_cast<uint64_t>(config.timeout_seconds) * 1'000'000'000ull;
  return options;
}

struct McpCalls::Session {
  McpSessionKey key;
  McpSessionOrigin origin;
  std::string session_id;  // the transport's, else the book's
  std::unique_ptr<protocols::CallTracker> calls;
  std::map<std::pair<protocols::Side, std::string>, InFlight> in_flight;  // (requester, jsonrpc id) → call
  std::string requested_protocol_version;
  std::vector<std::string> client_capabilities;
  bool session_reported = false;
  // The call the last answer completed (reported, so no longer in flight): (requester, jsonrpc id) → call id.
  std::pair<std::pair<protocols::Side, std::string>, std::string> just_reported;
};

McpCalls::McpCalls(McpCallsDeps deps, McpCallsOptions options) : deps_(deps), options_(options) {}

McpCalls::~McpCalls() = default;

McpCalls::Session* McpCalls::find(const McpSessionKey& key) {
  auto it = sessions_.find(key);
  return it == sessions_.end() ? nullptr : it->second.get();
}

void McpCalls::open_session(const McpSessionKey& key, McpSessionOrigin origin) {
  if (!options_.enabled) return void(++sessions_not_followed_);
  if (Session* open = find(key)) {
    if (open->origin.session_id.empty() && !origin.session_id.empty()) {
      open->origin.session_id = origin.session_id;
      open->session_id = origin.session_id;
    }
    return;
  }
  auto session = std::make_unique<Session>();
  session->key = key;
  session->session_id = !origin.session_id.empty()
                            ? origin.session_id
                            : "ses_" + common::sha256_hex(deps_.events.agent_id() + "\x1f" + key + "\x1f" +
                                                          std::to_string(unix_now_ns()) + "\x1f" +
                                                          std::to_string(next_session_++))
                                           .substr(0, 20);
  session->origin = std::move(origin);
  Session* raw = session.get();
  session->calls = std::make_unique<protocols::CallTracker>(
      options_.limits, [this, raw](const protocols::ToolCall& call) { on_call(*raw, call); });
  sessions_.emplace(key, std::move(session));
}

std::string McpCalls::call_id_for(const Session& session, protocols::Side requester,
                                  const std::string& jsonrpc_id) const {
  return "call_" + common::sha256_hex(session.session_id + "\x1f" + std::string(side_name(requester)) + "\x1f" +
                                      jsonrpc_id + "\x1f" + std::to_string(unix_now_ns()))
                       .substr(0, 24);
}

void McpCalls::on_message(const McpSessionKey& key, protocols::Side from, protocols::JsonRpcMessage& message,
                          uint64_t now_ns) {
  Session* session = find(key);
  if (!session) return void(++messages_unattributed_);
  if (message.kind == protocols::JsonRpcKind::kRequest && message.method == "initialize" &&
      from == protocols::Side::kClient) {
    session->requested_protocol_version = message.protocol_version;
    session->client_capabilities = message.capabilities;
  }
  std::optional<protocols::CallRef> call = session->calls->on_message(from, message, now_ns);
  after_message(*session, from, message, call, now_ns);
}

void McpCalls::after_message(Session& session, protocols::Side from, const protocols::JsonRpcMessage& message,
                             const std::optional<protocols::CallRef>& call, uint64_t now_ns) {
  if (!call) {  // a notification (a server's log message, progress) or an unmatched answer: its values still count
    inspect_values(session, from, message, protocols::CallRef{from, message.method, message.name, ""});
    return;
  }
  if (message.kind == protocols::JsonRpcKind::kRequest) {
    InFlight flight;
    flight.call_id = call_id_for(session, from, call->id);
    flight.started_ns = now_ns;
    flight.ref.set_call_id(flight.call_id);
    flight.ref.set_jsonrpc_id(exported(call->id));
    flight.ref.set_method(exported(call->method));
    flight.ref.set_tool(exported(call->name));
    flight.ref.set_server_name(server_name_of(session));
    session.in_flight[{from, call->id}] = std::move(flight);
  }
  inspect_values(session, from, message, *call);
  if (message.kind == protocols::JsonRpcKind::kRequest) return;
  if (call->method == "initialize" && !session.session_reported) emit_session(session);
  if (call->method == "tools/list" && message.kind == protocols::JsonRpcKind::kResponse) emit_tools(session);
}

void McpCalls::inspect_values(Session& session, protocols::Side from, const protocols::JsonRpcMessage& message,
                              const protocols::CallRef& call) {
  if (message.values_truncated) ++values_truncated_;
  std::set<std::string> reported;  // fingerprint + direction: one finding per credential and direction per message
  for (const auto& value : message.values) {
    for (const auto& found : secrets::scan_text(value.text)) {
      const std::string_view raw = value.text.substr(found.offset, found.length);
      credtrace::v1::Credential credential =
          events::describe_credential(deps_.fingerprinter, raw, found.type, found.prefix_len);
      const std::string direction(origin_name(value.origin));
      if (!reported.insert(credential.fingerprint() + "\x1f" + direction).second) continue;
      emit_secret_in_tool_io(session, from, call, direction, std::move(credential));
    }
  }
}

credtrace::v1::ToolCallRef McpCalls::ref_of(const Session& session, const protocols::CallRef& call) const {
  credtrace::v1::ToolCallRef ref;
  ref.set_jsonrpc_id(exported(call.id));
  ref.set_method(exported(call.method));
  ref.set_tool(exported(call.name));
  ref.set_server_name(server_name_of(session));
  if (auto flight = session.in_flight.find({call.requester, call.id}); flight != session.in_flight.end())
    ref.set_call_id(flight->second.call_id);
  else if (session.just_reported.first == std::make_pair(call.requester, call.id))
    ref.set_call_id(session.just_reported.second);  // an answer: its call was reported just before
  return ref;
}

void McpCalls::emit_secret_in_tool_io(Session& session, protocols::Side from, const protocols::CallRef& call,
                                      const std::string& direction, credtrace::v1::Credential credential) {
  auto event = deps_.events.about("secret_in_tool_io", session.origin.process, *session.origin.workload);
  const credtrace::v1::ToolCallRef ref = ref_of(session, call);
  if (from == protocols::Side::kServer) {
    remember_carried(session, ref, credential.fingerprint(), direction);
  } else if (direction == "arguments") {
    credtrace::v1::ToolCallLink link;
    *link.mutable_call() = ref;
    check_relay(credential, session.origin.server_pid, session.origin.process, *session.origin.workload,
                "tool_arguments", link, nullptr);
  }
  const std::string fingerprint = credential.fingerprint();
  *event.mutable_credential() = std::move(credential);
  deps_.registry.add_any_sources_to(fingerprint, event);
  auto* detail = event.mutable_secret_in_tool_io();
  detail->set_direction(direction);
  detail->set_sender(std::string(side_name(from)));
  detail->set_transport(session.origin.transport);
  detail->set_session_id(session.session_id);
  *detail->mutable_call() = ref;
  ++secrets_in_tool_io_;
  deps_.sink.write(event);
}

void McpCalls::remember_carried(const Session& session, const credtrace::v1::ToolCallRef& call,
                                const std::string& fingerprint, const std::string& direction) {
  auto [it, inserted] = carried_.insert_or_assign(
      fingerprint, Carried{call, session.origin.workload->id(), server_name_of(session), session.origin.server_pid,
                           direction, unix_now_ns()});
  (void)it;
  if (!inserted) return;
  carried_order_.push_back(fingerprint);
  if (carried_order_.size() > kMaxCarried) {
    carried_.erase(carried_order_.front());
    carried_order_.erase(carried_order_.begin());
  }
}

void McpCalls::check_relay(const credtrace::v1::Credential& credential, uint32_t user_server_pid,
                           const credtrace::v1::Process& process, const credtrace::v1::Workload& workload,
                           const std::string& relay, const credtrace::v1::ToolCallLink& link,
                           const credtrace::v1::Downstream* use) {
  auto carried = carried_.find(credential.fingerprint());
  if (credential.fingerprint().empty() || carried == carried_.end()) return;
  const Carried& from = carried->second;
  // The server that returned it, using it or getting it back, relays nothing.
  if ((user_server_pid && from.server_pid == user_server_pid) || from.workload_id == workload.id()) return;
  const std::string key = credential.fingerprint() + "\x1f" + from.call.call_id() + "\x1f" + workload.id() +
                          "\x1f" + relay;
  if (relays_reported_.size() >= kMaxRelaysRemembered) relays_reported_.clear();  // bounded: may report again
  if (!relays_reported_.insert(key).second) return;
  auto event = deps_.events.about("credential_relayed", process, workload);
  *event.mutable_credential() = credential;
  deps_.registry.add_any_sources_to(credential.fingerprint(), event);
  if (link.has_call() || link.ambiguous()) *event.mutable_tool_call() = link;
  if (use) {
    *event.mutable_destination() = use->destination();
    *event.mutable_request() = use->request();
  }
  auto* detail = event.mutable_credential_relayed();
  *detail->mutable_carried_by() = from.call;
  detail->set_carried_by_workload_id(from.workload_id);
  detail->set_carried_by_server(from.server_name);
  *detail->mutable_carried_at() = google::protobuf::util::TimeUtil::NanosecondsToTimestamp(from.seen_unix_ns);
  detail->set_relay(relay);
  detail->set_carried_direction(from.direction);
  ++relays_;
  deps_.sink.write(event);
}

McpCalls::Session* McpCalls::session_of_server(uint32_t server_pid) {
  for (auto& [_, session] : sessions_)
    if (session->origin.server_pid == server_pid && session->origin.side == "server") return session.get();
  return nullptr;
}

std::string McpCalls::server_name_of(const Session& session) const {
  const std::string& named = session.calls->session().server_name;
  return !named.empty() ? exported(named) : session.origin.workload->mcp().server_name();
}

void McpCalls::on_call(Session& session, const protocols::ToolCall& call) {
  auto event = deps_.events.about("mcp_tool_call", session.origin.process, *session.origin.workload);
  auto* detail = event.mutable_mcp_tool_call();
  auto flight = session.in_flight.find({call.requester, call.id});
  bool answer_maybe_lost = false;
  if (flight != session.in_flight.end()) {
    answer_maybe_lost = flight->second.answer_maybe_lost;
    detail->set_call_id(flight->second.call_id);
    session.just_reported = {{call.requester, call.id}, flight->second.call_id};
    for (auto& downstream : flight->second.downstream) *detail->add_downstream() = std::move(downstream);
    session.in_flight.erase(flight);
  }
  detail->set_transport(session.origin.transport);
  detail->set_side(session.origin.side);
  detail->set_session_id(session.session_id);
  detail->set_method(exported(call.method));
  detail->set_tool(exported(call.name));
  detail->set_jsonrpc_id(exported(call.id));
  detail->set_requester(std::string(side_name(call.requester)));
  if (options_.arguments_shape) {
    detail->set_arguments_shape(call.arguments_shape);
    detail->set_arguments_shape_truncated(call.arguments_shape_truncated);
  }
  detail->set_outcome(std::string(protocols::outcome_name(call.outcome)));
  if (call.error_code) detail->set_error_code(*call.error_code);
  detail->set_no_answer(std::string(protocols::no_answer_name(call.no_answer)));
  const bool unanswered = call.no_answer == protocols::NoAnswerReason::kTimeout ||
                          call.no_answer == protocols::NoAnswerReason::kSessionEnd;
  if (unanswered && answer_maybe_lost) {  // its answer may be in bytes the capture missed: unknown, not "none"
    detail->set_no_answer("capture_gap");
    ++answers_maybe_lost_;
  }
  detail->set_duration_seconds(seconds_between(call.started_ns, call.ended_ns));
  detail->set_request_bytes(call.request_bytes);
  detail->set_response_bytes(call.response_bytes);
  detail->set_client_name(exported(call.session.client_name));
  detail->set_client_version(exported(call.session.client_version));
  detail->set_server_name(exported(call.session.server_name));
  detail->set_server_version(exported(call.session.server_version));
  detail->set_protocol_version(exported(call.session.protocol_version));
  ++calls_reported_;
  deps_.sink.write(event);
}

void McpCalls::emit_session(Session& session) {
  const protocols::SessionInfo& info = session.calls->session();
  auto event = deps_.events.about("mcp_session", session.origin.process, *session.origin.workload);
  auto* detail = event.mutable_mcp_session();
  detail->set_transport(session.origin.transport);
  detail->set_side(session.origin.side);
  detail->set_session_id(session.session_id);
  detail->set_protocol_version(exported(info.protocol_version));
  detail->set_requested_protocol_version(exported(session.requested_protocol_version));
  detail->set_client_name(exported(info.client_name));
  detail->set_client_version(exported(info.client_version));
  detail->set_server_name(exported(info.server_name));
  detail->set_server_version(exported(info.server_version));
  for (const auto& capability : session.client_capabilities) detail->add_client_capabilities(exported(capability));
  for (const auto& capability : info.server_capabilities) detail->add_server_capabilities(exported(capability));
  session.session_reported = true;
  ++sessions_reported_;
  deps_.sink.write(event);
}

void McpCalls::emit_tools(Session& session) {
  const auto& hashes = session.calls->tool_hashes();
  if (hashes.empty()) return;
  const std::string owner = session.origin.workload->id() + "\x1f" + session.calls->session().server_name;
  if (!known_tools_.count(owner) && known_tools_.size() >= kMaxToolOwners) return void(++tool_owners_not_kept_);
  auto& known = known_tools_[owner];
  const int64_t now = unix_now_ns();
  bool differs = known.empty();
  for (const auto& [tool, sha256] : hashes) {
    auto it = known.find(tool);
    if (it == known.end()) {
      differs = true;
    } else if (it->second.sha256 != sha256) {
      differs = true;
      if (it->second.session_id != session.session_id) {
        auto event = deps_.events.about("mcp_tool_changed", session.origin.process, *session.origin.workload);
        auto* changed = event.mutable_mcp_tool_changed();
        changed->set_tool(exported(tool));
        changed->set_previous_sha256(it->second.sha256);
        changed->set_sha256(sha256);
        changed->set_previous_session_id(it->second.session_id);
        changed->set_session_id(session.session_id);
        *changed->mutable_previous_seen() = google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
            it->second.seen_unix_ns);
        ++tool_changes_;
        deps_.sink.write(event);
      }
    }
    known[tool] = KnownTool{sha256, session.session_id, now};
  }
  if (!differs) return;
  auto event = deps_.events.about("mcp_tools", session.origin.process, *session.origin.workload);
  auto* tools = event.mutable_mcp_tools();
  tools->set_session_id(session.session_id);
  for (const auto& [tool, sha256] : hashes) {
    auto* definition = tools->add_tools();
    definition->set_name(exported(tool));
    definition->set_sha256(sha256);
  }
  deps_.sink.write(event);
}

void McpCalls::capture_gap(const McpSessionKey& key, protocols::Side from) {
  Session* session = find(key);
  if (!session) return;
  for (auto& [requester_and_id, flight] : session->in_flight)
    if (requester_and_id.first != from) flight.answer_maybe_lost = true;  // `from` answers the other side's calls
}

void McpCalls::end_session(const McpSessionKey& key, uint64_t now_ns) {
  auto it = sessions_.find(key);
  if (it == sessions_.end()) return;
  it->second->calls->end_session(now_ns);
  sessions_.erase(it);
}

void McpCalls::end_server(uint32_t server_pid, uint64_t now_ns) {
  std::vector<McpSessionKey> ending;
  for (const auto& [key, session] : sessions_)
    if (session->origin.server_pid == server_pid) ending.push_back(key);
  for (const auto& key : ending) end_session(key, now_ns);
}

void McpCalls::expire(uint64_t now_ns) {
  for (auto& [_, session] : sessions_) session->calls->expire(now_ns);
}

void McpCalls::stop(uint64_t now_ns) {
  while (!sessions_.empty()) end_session(sessions_.begin()->first, now_ns);
}

// A call lists each distinct downstream once (same credential, destination and carrier), up to kMaxDownstream.
void McpCalls::record_downstream(InFlight& flight, const credtrace::v1::Downstream& use, bool ambiguous) {
  const std::string key = use.credential().fingerprint() + "\x1f" + use.destination().host() + "\x1f" +
                          use.destination().ip() + "\x1f" + std::to_string(use.destination().port()) + "\x1f" +
                          use.request().carrier();
  if (flight.downstream_keys.count(key)) return;
  if (flight.downstream.size() >= kMaxDownstream) return void(++downstream_dropped_);
  flight.downstream_keys.insert(key);
  credtrace::v1::Downstream copy = use;
  copy.set_ambiguous(ambiguous);
  flight.downstream.push_back(std::move(copy));
}

credtrace::v1::ToolCallLink McpCalls::link_downstream(uint32_t server_pid, const credtrace::v1::Downstream& use,
                                                      uint64_t now_ns, const credtrace::v1::Process* process,
                                                      const credtrace::v1::Workload* workload) {
  credtrace::v1::ToolCallLink link = link_in_flight(server_pid, use, now_ns);
  if (use.has_credential()) {
    const Session* session = session_of_server(server_pid);
    const credtrace::v1::Process no_process;
    const credtrace::v1::Workload no_workload;
    const auto& who = process ? *process : session ? session->origin.process : no_process;
    const auto& what = workload ? *workload : session ? *session->origin.workload : no_workload;
    check_relay(use.credential(), server_pid, who, what, "credential_use", link, &use);
  }
  return link;
}

// The calls the server's clients made that were in flight at now_ns.
std::vector<McpCalls::InFlight*> McpCalls::client_calls_in_flight(uint32_t server_pid, uint64_t now_ns) const {
  std::vector<InFlight*> flights;
  for (const auto& [_, session] : sessions_) {
    if (session->origin.server_pid != server_pid || session->origin.side != "server") continue;
    for (auto& [key, flight] : session->in_flight)
      if (key.first == protocols::Side::kClient && flight.started_ns <= now_ns) flights.push_back(&flight);
  }
  return flights;
}

bool McpCalls::wants_downstream(uint32_t server_pid, const std::string& fingerprint, uint64_t now_ns) const {
  if (!fingerprint.empty() && carried_.count(fingerprint)) return true;
  return !client_calls_in_flight(server_pid, now_ns).empty();
}

credtrace::v1::ToolCallLink McpCalls::link_in_flight(uint32_t server_pid, const credtrace::v1::Downstream& use,
                                                     uint64_t now_ns) {
  credtrace::v1::ToolCallLink link;
  const std::vector<InFlight*> flights = client_calls_in_flight(server_pid, now_ns);
  if (flights.empty()) return link;
  const bool ambiguous = flights.size() > 1;
  for (InFlight* flight : flights) {
    record_downstream(*flight, use, ambiguous);
    if (ambiguous) *link.add_candidates() = flight->ref;
  }
  if (ambiguous) {
    link.set_ambiguous(true);
    ++downstream_ambiguous_;
  } else {
    *link.mutable_call() = flights.front()->ref;
  }
  ++downstream_linked_;
  return link;
}

void McpCalls::report(credtrace::v1::AgentHealth& health) const {
  auto& sensors = *health.mutable_sensors();
  sensors["mcp_sessions_open"] = sessions_.size();
  sensors["mcp_sessions_not_followed"] = sessions_not_followed_;  // mcp.tool_calls.enabled: false
  sensors["mcp_sessions_reported"] = sessions_reported_;
  sensors["mcp_tool_calls_reported"] = calls_reported_;
  sensors["mcp_messages_unattributed"] = messages_unattributed_;
  sensors["mcp_tool_definitions_changed"] = tool_changes_;
  sensors["mcp_downstream_linked"] = downstream_linked_;
  sensors["mcp_downstream_ambiguous"] = downstream_ambiguous_;
  sensors["mcp_downstream_not_listed"] = downstream_dropped_;  // past kMaxDownstream distinct ones in one call
  sensors["mcp_secrets_in_tool_io"] = secrets_in_tool_io_;
  sensors["mcp_credentials_relayed"] = relays_;
  sensors["mcp_tool_owners_not_kept"] = tool_owners_not_kept_;  // past kMaxToolOwners (workload, server) pairs
  sensors["mcp_answers_maybe_lost"] = answers_maybe_lost_;  // no answer seen, and a capture gap could hold it
  sensors["mcp_messages_values_truncated"] = values_truncated_;
}

}  // namespace credtrace::sensors
