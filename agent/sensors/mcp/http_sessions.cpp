// MCP over HTTP: requests recognised as MCP, their bodies and answers (JSON or event streams) into the call book.
#include "sensors/mcp/http_sessions.h"

#include <algorithm>
#include <utility>

#include "protocols/http1/header_fields.h"
#include "protocols/jsonrpc/message.h"
#include "protocols/text.h"

namespace credtrace::sensors {
namespace {

using protocols::detail::icontains;
using protocols::detail::wipe;

constexpr size_t kMaxSessionId = 128;

std::string_view header(const std::vector<protocols::HttpHeader>& headers, std::string_view name) {
  for (const auto& h : headers)
    if (h.name == name) return h.value;
  return {};
}

// A session id as exported: visible ASCII only (the spec's rule), bounded; anything else is not an id.
std::string session_id_of(std::string_view value) {
  if (value.empty() || value.size() > kMaxSessionId) return {};
  for (char c : value)
    if (c < 0x21 || c > 0x7e) return {};
  return std::string(value);
}

bool has_mcp_header(const std::vector<protocols::HttpHeader>& headers) {
  return !header(headers, "mcp-session-id").empty() || !header(headers, "mcp-protocol-version").empty();
}

// The value of one query parameter (the HTTP+SSE transport's sessionId), "" when absent.
std::string query_param(std::string_view raw_query, std::string_view name) {
  while (!raw_query.empty()) {
    const size_t amp = raw_query.find('&');
    std::string_view pair = raw_query.substr(0, amp);
    if (pair.size() > name.size() && pair.substr(0, name.size()) == name && pair[name.size()] == '=')
      return session_id_of(pair.substr(name.size() + 1));
    if (amp == std::string_view::npos) break;
    raw_query.remove_prefix(amp + 1);
  }
  return {};
}

bool is_mcp_method(std::string_view method) {
  static constexpr std::string_view kPrefixes[] = {"initialize", "notifications/", "tools/", "resources/",
                                                   "prompts/", "completion/", "logging/", "sampling/",
                                                   "elicitation/", "roots/", "ping"};
  return std::any_of(std::begin(kPrefixes), std::end(kPrefixes), [&](std::string_view p) { return method.starts_with(p); });
}

// Whether a body is JSON-RPC naming an MCP method (requests and notifications say so; answers do not). A body with no
// `"method"` and no backslash cannot hold a member named method: such bodies (most API requests) are not parsed.
bool body_names_mcp_method(std::string_view body) {
  if (body.find("\"method\"") == std::string_view::npos && body.find('\\') == std::string_view::npos) return false;
  std::string scratch;
  protocols::ParsedLine parsed = protocols::parse_jsonrpc_line(body, scratch);
  const bool mcp = std::any_of(parsed.messages.begin(), parsed.messages.end(),
                               [](const protocols::JsonRpcMessage& m) { return is_mcp_method(m.method); });
  wipe(scratch);
  return mcp;
}

bool starts_like_json(std::string_view body) {
  const size_t first = body.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && (body[first] == '{' || body[first] == '[');
}

}  // namespace

bool is_mcp_request(const protocols::HttpRequest& request) {
  if (request.method == "GET") {
    return icontains(header(request.headers, "accept"), "text/event-stream") &&
           (has_mcp_header(request.headers) || request.path.ends_with("/sse"));
  }
  if (request.method != "POST") return false;
  if (has_mcp_header(request.headers)) return true;
  if (!starts_like_json(request.body_prefix) || request.body_truncated) return false;
  return body_names_mcp_method(request.body_prefix);
}

McpHttpSessions::Resolve resolve_mcp_origin(tracking::ProcessTracker& tracker) {
  return [&tracker](uint32_t pid) -> std::optional<McpSessionOrigin> {
    tracking::Attribution who = tracker.attribute(pid);
    if (!who.record || !who.server) return std::nullopt;
    McpSessionOrigin origin;
    origin.process = tracker.process_view(*who.record);
    origin.workload = who.server->workload;
    return origin;
  };
}

// --- sessions -------------------------------------------------------------------------------------------------

// A session without an id (a stateless server) is the connection's own: different clients' ids must not pair.
McpSessionKey McpHttpSessions::key_of(const McpHttpPeer& peer, const std::string& session_id) {
  const std::string id = session_id.empty() ? "~conn" + peer.connection : session_id;
  return peer.server_side ? "http:s:" + std::to_string(peer.server_pid) + ":" + peer.endpoint + ":" + id
                          : "http:c:" + std::to_string(peer.pid) + ":" + peer.endpoint + ":" + id;
}

McpSessionKey McpHttpSessions::open(const McpHttpPeer& peer, const std::string& session_id,
                                    std::string_view transport, uint64_t now_ns) {
  McpSessionKey key = key_of(peer, session_id);
  if (calls_.has_session(key)) {
    last_seen_[key] = now_ns;
    return key;
  }
  std::optional<McpSessionOrigin> origin = resolve_(peer.pid);
  if (!origin) return ++stats_.unattributed, McpSessionKey{};
  origin->transport = std::string(transport);
  origin->side = peer.server_side ? "server" : "client";
  origin->server_pid = peer.server_side ? peer.server_pid : 0;
  origin->session_id = session_id;
  calls_.open_session(key, std::move(*origin));
  if (!peer.server_side) by_pid_[peer.pid].insert(key);
  last_seen_[key] = now_ns;
  if (last_seen_.size() > kMaxSessions) expire(now_ns);
  return key;
}

void McpHttpSessions::forget(const McpSessionKey& key, uint64_t now_ns) {
  last_seen_.erase(key);
  for (auto it = by_pid_.begin(); it != by_pid_.end();) {  // an evicted client session leaves no key behind
    it->second.erase(key);
    it = it->second.empty() ? by_pid_.erase(it) : std::next(it);
  }
  if (calls_.has_session(key)) calls_.end_session(key, now_ns);
}

void McpHttpSessions::expire(uint64_t now_ns) {
  for (auto it = last_seen_.begin(); it != last_seen_.end();) {
    if (!calls_.has_session(it->first)) {  // ended elsewhere (the server's end)
      it = last_seen_.erase(it);
    } else if (it->second + kIdleNs <= now_ns) {
      ++stats_.sessions_expired;
      calls_.end_session(it->first, now_ns);
      for (auto& [_, keys] : by_pid_) keys.erase(it->first);
      it = last_seen_.erase(it);
    } else {
      ++it;
    }
  }
  while (last_seen_.size() > kMaxSessions) {
    auto oldest = std::min_element(last_seen_.begin(), last_seen_.end(),
                                   [](const auto& a, const auto& b) { return a.second < b.second; });
    ++stats_.sessions_evicted;
    forget(oldest->first, now_ns);
  }
}

void McpHttpSessions::end(const McpHttpPeer& peer, const std::string& session_id, uint64_t now_ns) {
  const McpSessionKey key = key_of(peer, session_id);
  if (!calls_.has_session(key)) return;
  forget(key, now_ns);  // also drops the key from by_pid_
  ++stats_.sessions_ended;
}

void McpHttpSessions::forget_process(uint32_t pid, uint64_t now_ns) {
  auto it = by_pid_.find(pid);
  if (it == by_pid_.end()) return;
  const std::set<McpSessionKey> keys = std::move(it->second);  // forget() edits by_pid_
  by_pid_.erase(it);
  for (const auto& key : keys) {
    if (calls_.has_session(key)) ++stats_.sessions_ended;
    forget(key, now_ns);
  }
}

void McpHttpSessions::feed(const McpSessionKey& key, protocols::Side from, protocols::JsonRpcMessage& message,
                           uint64_t now_ns) {
  ++stats_.messages;
  last_seen_[key] = now_ns;
  calls_.on_message(key, from, message, now_ns);
}

void McpHttpSessions::report(credtrace::v1::AgentHealth& health, std::string_view prefix) const {
  auto& sensors = *health.mutable_sensors();
  const std::string p(prefix);
  sensors[p + "requests"] = stats_.requests;
  sensors[p + "answers"] = stats_.answers;
  sensors[p + "sse_events"] = stats_.sse_events;
  sensors[p + "messages"] = stats_.messages;
  sensors[p + "bodies_truncated"] = stats_.bodies_truncated;
  sensors[p + "bodies_not_jsonrpc"] = stats_.bodies_not_jsonrpc;
  sensors[p + "bodies_encoded"] = stats_.bodies_encoded;
  sensors[p + "answers_cut"] = stats_.answers_cut;
  sensors[p + "answers_unpaired"] = stats_.answers_unpaired;
  sensors[p + "requests_dropped"] = stats_.requests_dropped;
  sensors[p + "sse_events_truncated"] = stats_.sse_events_truncated;
  sensors[p + "sessions_ended"] = stats_.sessions_ended;
  sensors[p + "sessions_expired"] = stats_.sessions_expired;
  sensors[p + "sessions_evicted"] = stats_.sessions_evicted;
  sensors[p + "sessions_open"] = last_seen_.size();
  sensors[p + "unattributed"] = stats_.unattributed;
}

// --- one connection ----------------------------------------------------------------------------------------------

// An MCP request waiting for its answer (one that is not MCP waits as a null entry: nothing to keep). Its body (a raw
// value) is kept only while its session is unknown (an initialize: the session id comes with its answer), and wiped
// when the answer's header block names the session.
struct McpHttpConnection::Pending {
  bool event_stream = false;    // a GET for an event stream
  std::string session_id;       // Mcp-Session-Id it carried
  std::string legacy_session;   // HTTP+SSE: the sessionId of the POST's query
  std::string body;
  bool body_truncated = false;
  uint64_t time_ns = 0;
  ~Pending() { wipe(body); }
};

// The answer whose body is arriving.
struct McpHttpConnection::Answer {
  McpSessionKey key;            // "" for an HTTP+SSE stream until its endpoint event
  bool legacy_stream = false;   // an HTTP+SSE GET stream
  std::string json;             // an application/json body so far
  bool too_large = false;
  std::unique_ptr<protocols::SseParser> events;  // text/event-stream
  ~Answer() { wipe(json); }
};

class McpHttpConnection::EventSink final : public protocols::MessageSink {
 public:
  EventSink(McpHttpConnection& connection, uint64_t now_ns) : connection_(connection), now_ns_(now_ns) {}
  void on_sse_event(protocols::SseEvent& event) override { connection_.on_event(event, now_ns_); }

 private:
  McpHttpConnection& connection_;
  uint64_t now_ns_;
};

McpHttpConnection::McpHttpConnection(McpHttpSessions& sessions, McpHttpPeer peer)
    : sessions_(sessions), peer_(std::move(peer)) {
  peer_.connection = sessions_.new_connection_id();
}

// The connection's own session (stateless server) ends with it; sessions with an id outlive their connections.
McpHttpConnection::~McpHttpConnection() {
  if (last_time_ns_) sessions_.end(peer_, "", last_time_ns_);
}

void McpHttpConnection::on_request(const protocols::HttpRequest& request, std::string_view raw_query,
                                   uint64_t now_ns) {
  last_time_ns_ = std::max(last_time_ns_, now_ns);
  const std::string session_id = session_id_of(header(request.headers, "mcp-session-id"));
  if (request.method == "DELETE" && !session_id.empty()) sessions_.end(peer_, session_id, now_ns);
  std::unique_ptr<Pending> pending;
  if (is_mcp_request(request)) {
    ++sessions_.stats().requests;
    pending = std::make_unique<Pending>();
    pending->time_ns = now_ns;
    pending->event_stream = request.method == "GET";
    pending->session_id = session_id;
    if (session_id.empty()) pending->legacy_session = query_param(raw_query, "sessionId");
    pending->body_truncated = request.body_truncated;
    feed_request(*pending, request.body_prefix, now_ns);
  }
  if (pending_.size() >= kMaxPending) {
    pending_.erase(pending_.begin());
    ++sessions_.stats().requests_dropped;
  }
  pending_.push_back(std::move(pending));
}

bool McpHttpConnection::on_response_head(const protocols::HttpResponse& head, uint64_t now_ns) {
  answer_.reset();
  if (pending_.empty()) {
    ++sessions_.stats().answers_unpaired;
    return false;
  }
  std::unique_ptr<Pending> request = std::move(pending_.front());
  pending_.erase(pending_.begin());
  if (!request) return false;  // not MCP
  ++sessions_.stats().answers;
  const bool legacy = !request->legacy_session.empty();
  std::string session_id = legacy ? request->legacy_session : request->session_id;
  if (session_id.empty()) session_id = session_id_of(header(head.headers, "mcp-session-id"));
  const bool legacy_stream = request->event_stream && !legacy && session_id.empty() &&
                             !has_mcp_header(head.headers);
  McpSessionKey key;
  if (!legacy_stream) {
    key = sessions_.open(peer_, session_id, legacy ? "sse" : "http", now_ns);
    if (key.empty()) return false;  // a process the tracker does not know
  }
  if (!request->body.empty()) feed_body(key, request->body, protocols::Side::kClient, request->time_ns);
  request.reset();  // its body wiped
  if (head.body_encoded) {
    ++sessions_.stats().bodies_encoded;
    return false;
  }
  const std::string_view type = header(head.headers, "content-type");
  if (icontains(type, "text/event-stream")) {
    answer_ = std::make_unique<Answer>();
    answer_->events = std::make_unique<protocols::SseParser>();
    answer_->legacy_stream = legacy_stream;
  } else if (icontains(type, "json") && !legacy_stream) {
    answer_ = std::make_unique<Answer>();
  } else {
    return false;  // 202 Accepted, an error page
  }
  answer_->key = std::move(key);
  return true;
}

void McpHttpConnection::on_response_body(std::string_view bytes, bool end, bool cut, uint64_t now_ns) {
  if (!answer_) return;
  if (answer_->events) {
    EventSink sink(*this, now_ns);
    if (!bytes.empty()) answer_->events->feed(bytes, sink);
    if (end) answer_->events->finish(sink);
  } else if (!answer_->too_large) {
    if (answer_->json.size() + bytes.size() > kMaxJsonBody) {
      answer_->too_large = true;
      wipe(answer_->json);
    } else {
      protocols::http1::append_wiping(answer_->json, bytes);  // growth leaves no copy of a value behind
    }
  }
  if (!end) return;
  if (cut) ++sessions_.stats().answers_cut;
  // An answer cut short or too large to parse: the calls it may have answered end as capture_gap, not unanswered.
  if ((cut || answer_->too_large) && !answer_->key.empty()) sessions_.answer_lost(answer_->key);
  if (answer_->events) {
    const auto& sse = answer_->events->stats();
    sessions_.stats().sse_events_truncated += sse.events_truncated + sse.partial_events_dropped + sse.lines_cut;
  } else if (answer_->too_large) {
    ++sessions_.stats().bodies_truncated;
  } else if (!cut) {
    feed_body(answer_->key, answer_->json, protocols::Side::kServer, now_ns);
  }
  answer_.reset();
}

void McpHttpConnection::on_event(protocols::SseEvent& event, uint64_t now_ns) {
  ++sessions_.stats().sse_events;
  if (event.type == "endpoint" && answer_->legacy_stream) {
    // HTTP+SSE: the URL the client is to POST to names the session: /messages?sessionId=…
    const size_t query = event.data.find('?');
    const std::string session_id =
        query_param(query == std::string::npos ? std::string_view() : std::string_view(event.data).substr(query + 1),
                    "sessionId");
    if (!session_id.empty()) answer_->key = sessions_.open(peer_, session_id, "sse", now_ns);
    return;
  }
  if (event.type != "message" || answer_->key.empty()) return;
  if (event.data_truncated) return void(++sessions_.stats().bodies_truncated);
  feed_body(answer_->key, event.data, protocols::Side::kServer, now_ns);
}

// A request whose session is known (it carries the Mcp-Session-Id, or the HTTP+SSE sessionId) is fed at once: its
// answer may come first on another connection (an event stream). Otherwise (initialize) its body waits for the
// answer's header block, which names the session.
void McpHttpConnection::feed_request(Pending& pending, std::string_view body, uint64_t now_ns) {
  if (pending.body_truncated) return void(++sessions_.stats().bodies_truncated);
  if (body.empty()) return;
  const bool legacy = !pending.legacy_session.empty();
  if (pending.session_id.empty() && !legacy) {
    pending.body = body;
    return;
  }
  const McpSessionKey key =
      sessions_.open(peer_, legacy ? pending.legacy_session : pending.session_id, legacy ? "sse" : "http", now_ns);
  if (!key.empty()) feed_body(key, body, protocols::Side::kClient, now_ns);
}

void McpHttpConnection::feed_body(const McpSessionKey& key, std::string_view body, protocols::Side from,
                                  uint64_t now_ns) {
  std::string scratch;
  protocols::ParsedLine parsed = protocols::parse_jsonrpc_line(body, scratch);
  if (parsed.verdict != protocols::LineVerdict::kMessages) {
    ++sessions_.stats().bodies_not_jsonrpc;
  } else if (!key.empty()) {
    for (auto& message : parsed.messages) sessions_.feed(key, from, message, now_ns);
  }
  wipe(scratch);
}

}  // namespace credtrace::sensors
