// MCP activity of a batch as store rows: tool calls, the credentials linked to each call, sessions, tool definitions.
#include "ingest/mcp_rows.h"

#include <algorithm>
#include <cmath>

#include "common/time_util.h"
#include "ingest/batch_rows.h"

namespace credtrace::collector {
namespace {

constexpr size_t kMaxPreview = 64;
constexpr double kMaxDurationSeconds = 9.0e9;  // keeps duration_ns within int64

const std::string& first_nonempty(const std::string& a, const std::string& b) { return a.empty() ? b : a; }

int64_t clamp_u64(uint64_t value) {
  return value > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(value);
}

int64_t duration_ns(double seconds) {
  if (!std::isfinite(seconds) || seconds <= 0) return 0;
  return static_cast<int64_t>(std::min(seconds, kMaxDurationSeconds) * 1e9);
}

// The MCP server name of an event's workload (the client config's name), else its executable.
const std::string& workload_server(const v1::Workload& w) { return first_nonempty(w.mcp().server_name(), w.exe()); }

Status check_credential(v1::Credential& credential, const std::string& where, bool& changed) {
  if (!credential.fingerprint().empty() && !normalize_fingerprint(*credential.mutable_fingerprint(), changed))
    return Status::error(where + ".fingerprint must be 64 hex digits (HMAC-SHA256), never a raw value");
  if (credential.preview().size() > kMaxPreview)
    return Status::error(where + ".preview longer than 64 bytes (previews are redacted)");
  return {};
}

Status check_exchanged(google::protobuf::RepeatedPtrField<v1::ExchangedCredential>& list, const std::string& name,
                       bool& changed) {
  for (int i = 0; i < list.size(); ++i) {
    if (!list.Get(i).has_credential()) continue;
    std::string where = "token_exchange." + name + "[" + std::to_string(i) + "].credential";
    if (Status s = check_credential(*list.Mutable(i)->mutable_credential(), where, changed); !s.ok()) return s;
  }
  return {};
}

}  // namespace

std::string mcp_column(const std::string& text) {
  if (text.size() <= kMaxMcpColumn) return text;
  size_t end = kMaxMcpColumn;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;  // not inside a character
  return text.substr(0, end);
}

std::string known_outcome(const std::string& outcome) {
  for (const char* known : kToolCallOutcomes)
    if (outcome == known) return outcome;
  return kOutcomeUnknown;
}

Status validate_nested_credentials(v1::Event& event, bool& changed) {
  if (event.has_mcp_tool_call()) {
    auto& downstream = *event.mutable_mcp_tool_call()->mutable_downstream();
    for (int i = 0; i < downstream.size(); ++i) {
      if (!downstream.Get(i).has_credential()) continue;
      std::string where = "mcp_tool_call.downstream[" + std::to_string(i) + "].credential";
      if (Status s = check_credential(*downstream.Mutable(i)->mutable_credential(), where, changed); !s.ok()) return s;
    }
  }
  if (!event.has_token_exchange()) return {};
  auto* exchange = event.mutable_token_exchange();
  if (Status s = check_exchanged(*exchange->mutable_presented(), "presented", changed); !s.ok()) return s;
  return check_exchanged(*exchange->mutable_issued(), "issued", changed);
}

void McpRowsBuilder::add_event(const v1::Event& event, size_t index, int64_t time_ns) {
  if (event.has_mcp_tool_call()) add_call(event, index, time_ns);
  if (event.has_mcp_session()) add_session(event, index, time_ns);
  if (event.has_mcp_tools()) add_definitions(event, index, time_ns);
  add_links_of(event, index, time_ns);
}

void McpRowsBuilder::add_call(const v1::Event& event, size_t index, int64_t time_ns) {
  const v1::McpToolCall& c = event.mcp_tool_call();
  const v1::Mcp& mcp = event.workload().mcp();
  ToolCallRow row;
  row.call_id = mcp_column(c.call_id());
  row.workload_id = event.workload().id();
  row.server_name = mcp_column(first_nonempty(c.server_name(), workload_server(event.workload())));
  row.client_name = mcp_column(first_nonempty(c.client_name(), first_nonempty(mcp.client_info(), mcp.client())));
  row.tool = mcp_column(c.tool()), row.method = mcp_column(c.method()), row.transport = mcp_column(c.transport());
  row.session_id = mcp_column(c.session_id()), row.side = mcp_column(c.side()), row.requester = mcp_column(c.requester());
  row.outcome = known_outcome(c.outcome()), row.no_answer = mcp_column(c.no_answer());
  rows_.calls_without_id += c.call_id().empty() ? 1 : 0;
  rows_.unknown_outcomes += row.outcome == kOutcomeUnknown ? 1 : 0;
  row.has_error_code = c.has_error_code(), row.error_code = c.error_code();
  row.duration_ns = duration_ns(c.duration_seconds());
  row.request_bytes = clamp_u64(c.request_bytes()), row.response_bytes = clamp_u64(c.response_bytes());
  row.time_ns = time_ns, row.event = index;
  rows_.calls.push_back(std::move(row));
  for (const v1::Downstream& d : c.downstream()) {
    if (d.credential().fingerprint().empty()) continue;  // a connection without a credential
    v1::ToolCallRef ref;
    ref.set_call_id(c.call_id()), ref.set_tool(c.tool()), ref.set_server_name(c.server_name());
    int64_t at = d.has_time() ? timestamp_to_ns(d.time()) : time_ns;
    add_link(ref, d.credential(), kViaDownstream, d.ambiguous(), at, index);
  }
}

void McpRowsBuilder::add_link(const v1::ToolCallRef& call, const v1::Credential& credential, const std::string& via,
                              bool ambiguous, int64_t time_ns, size_t index) {
  if (call.call_id().empty() || credential.fingerprint().empty()) return;  // nothing to tie together
  std::string call_id = mcp_column(call.call_id());
  auto [it, added] = links_.try_emplace(LinkKey{call_id, credential.fingerprint(), via});
  CallCredentialRow& row = it->second;
  if (added) row.call_id = call_id, row.fingerprint = credential.fingerprint(), row.via = via;
  if (!credential.type().empty()) row.type = mcp_column(credential.type());
  if (!credential.preview().empty()) row.preview = credential.preview();
  if (!call.tool().empty()) row.tool = mcp_column(call.tool());
  if (!call.server_name().empty()) row.server_name = mcp_column(call.server_name());
  row.ambiguous = row.ambiguous && ambiguous;
  if (row.events == 0 || time_ns < row.first_ns) row.first_ns = time_ns, row.first_event = index;
  row.last_ns = std::max(row.last_ns, time_ns);
  row.events += 1;
}

// Event.tool_call of a credential event (the call, or each candidate when ambiguous), the call of a secret found in
// tool input or output, the call whose result carried a relayed credential, and the credentials a token request
// made during a call presented and was issued.
void McpRowsBuilder::add_links_of(const v1::Event& event, size_t index, int64_t time_ns) {
  const v1::Credential& credential = event.credential();
  link_to_calls(event, credential, event.type(), index, time_ns);
  if (event.has_secret_in_tool_io())
    add_link(event.secret_in_tool_io().call(), credential, event.type(), false, time_ns, index);
  if (event.has_credential_relayed())
    add_link(event.credential_relayed().carried_by(), credential, kViaCarried, false, time_ns, index);
  for (const auto& presented : event.token_exchange().presented())
    link_to_calls(event, presented.credential(), kViaTokenPresented, index, time_ns);
  for (const auto& issued : event.token_exchange().issued())
    link_to_calls(event, issued.credential(), kViaTokenIssued, index, time_ns);
}

void McpRowsBuilder::link_to_calls(const v1::Event& event, const v1::Credential& credential, const std::string& via,
                                   size_t index, int64_t time_ns) {
  if (!event.has_tool_call() || credential.fingerprint().empty()) return;
  const v1::ToolCallLink& link = event.tool_call();
  add_link(link.call(), credential, via, false, time_ns, index);
  for (const auto& candidate : link.candidates()) add_link(candidate, credential, via, true, time_ns, index);
}

void McpRowsBuilder::add_session(const v1::Event& event, size_t index, int64_t time_ns) {
  const v1::McpSession& s = event.mcp_session();
  SessionRow row;
  row.workload_id = event.workload().id(), row.session_id = mcp_column(s.session_id());
  row.transport = mcp_column(s.transport()), row.side = mcp_column(s.side());
  row.protocol_version = mcp_column(s.protocol_version());
  row.client_name = mcp_column(s.client_name()), row.client_version = mcp_column(s.client_version());
  row.server_name = mcp_column(first_nonempty(s.server_name(), workload_server(event.workload())));
  row.server_version = mcp_column(s.server_version());
  row.time_ns = time_ns, row.event = index;
  rows_.sessions.push_back(std::move(row));
}

void McpRowsBuilder::add_definitions(const v1::Event& event, size_t index, int64_t time_ns) {
  const v1::McpTools& tools = event.mcp_tools();
  for (const v1::ToolDefinition& t : tools.tools()) {
    if (t.name().empty() || t.sha256().empty()) continue;  // nothing to compare
    rows_.tool_definitions.push_back(ToolDefinitionRow{event.workload().id(),
                                                       mcp_column(workload_server(event.workload())),
                                                       mcp_column(t.name()), mcp_column(t.sha256()),
                                                       mcp_column(tools.session_id()), time_ns, index});
  }
}

namespace {

// The event types the MCP alert rules read (alert_rules.cpp).
bool has_mcp_finding(const v1::Event& event) {
  switch (event.detail_case()) {
    case v1::Event::kSecretInToolIo:
    case v1::Event::kCredentialRelayed:
    case v1::Event::kTokenPassthrough:
    case v1::Event::kAudienceMismatch:
    case v1::Event::kMcpToolChanged: return true;
    default: return false;
  }
}

void note_call(McpFacts& f, const v1::ToolCallRef& call) {
  if (call.call_id().empty()) return;
  f.call_id = mcp_column(call.call_id()), f.call_tool = mcp_column(call.tool());
  f.call_server = mcp_column(call.server_name()), f.call_method = mcp_column(call.method());
}

}  // namespace

McpFacts mcp_facts_of(const v1::Event& event) {
  McpFacts f;
  if (!has_mcp_finding(event)) return f;  // most events: nothing to copy on the ingest path
  f.server_name = mcp_column(workload_server(event.workload()));
  if (event.has_tool_call()) note_call(f, event.tool_call().call());
  if (event.has_secret_in_tool_io()) {
    const auto& s = event.secret_in_tool_io();
    note_call(f, s.call());
    f.direction = mcp_column(s.direction()), f.sender = mcp_column(s.sender());
  }
  if (event.has_credential_relayed()) {
    const auto& r = event.credential_relayed();
    f.relay = mcp_column(r.relay());
    f.carried_by_server = mcp_column(first_nonempty(r.carried_by_server(), r.carried_by().server_name()));
    f.carried_by_call = mcp_column(r.carried_by().call_id());
  }
  for (const auto& aud : event.audience_mismatch().aud()) f.aud.push_back(mcp_column(aud));
  f.received_path = mcp_column(event.token_passthrough().received_path());
  f.received_port = event.token_passthrough().received_port();
  const auto& c = event.mcp_tool_changed();
  f.tool = mcp_column(c.tool()), f.previous_sha256 = mcp_column(c.previous_sha256()), f.sha256 = mcp_column(c.sha256());
  f.previous_session_id = mcp_column(c.previous_session_id()), f.session_id = mcp_column(c.session_id());
  if (c.has_previous_seen()) f.previous_seen_ns = timestamp_to_ns(c.previous_seen());
  return f;
}

McpRows McpRowsBuilder::finish() {
  std::stable_sort(rows_.calls.begin(), rows_.calls.end(),
                   [](const ToolCallRow& a, const ToolCallRow& b) { return a.call_id < b.call_id; });
  rows_.call_credentials.reserve(links_.size());
  for (auto& [key, row] : links_) rows_.call_credentials.push_back(std::move(row));
  links_.clear();
  return std::move(rows_);
}

}  // namespace credtrace::collector
