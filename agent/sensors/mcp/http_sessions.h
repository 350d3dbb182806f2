// MCP over HTTP (Streamable HTTP and the older HTTP+SSE), on either side of a connection: which requests are MCP,
// their JSON-RPC bodies and their answers (application/json, or text/event-stream events as they arrive) fed to the
// call book under one session key per (process or server, endpoint, Mcp-Session-Id).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "credtrace/v1/events.pb.h"
#include "protocols/http1/request_parser.h"
#include "protocols/http1/response_parser.h"
#include "protocols/sse/sse_parser.h"
#include "sensors/http_exchange_observer.h"
#include "sensors/mcp/mcp_calls.h"
#include "tracking/process_tracker.h"

namespace credtrace::sensors {

// Every counter only ever grows. None holds message bytes.
struct McpHttpStats {
  uint64_t requests = 0;             // HTTP requests recognised as MCP
  uint64_t answers = 0;              // their answers (any status)
  uint64_t sse_events = 0;           // events of text/event-stream answers
  uint64_t messages = 0;             // JSON-RPC messages fed to the call book
  uint64_t bodies_truncated = 0;     // request bodies over the HTTP parser's prefix, answers over kMaxJsonBody: not parsed
  uint64_t bodies_not_jsonrpc = 0;   // MCP bodies or events that are not JSON-RPC (not JSON, too deep, binary)
  uint64_t bodies_encoded = 0;       // answers with a content coding (gzip, …): not parsed
  uint64_t answers_cut = 0;          // answers a capture gap or the close cut short
  uint64_t answers_unpaired = 0;     // answers with no request waiting
  uint64_t requests_dropped = 0;     // requests past kMaxPending waiting for answers
  uint64_t sse_events_truncated = 0; // events cut by the SSE parser's bounds, lines cut, partial events dropped
  uint64_t sessions_ended = 0;       // sessions ended by a DELETE or the end of their client process
  uint64_t sessions_expired = 0;     // sessions nothing was seen on for McpHttpSessions::kIdleNs (clients that left)
  uint64_t sessions_evicted = 0;     // the least recently seen sessions ended at kMaxSessions
  uint64_t unattributed = 0;         // MCP exchanges of a process the tracker knows no server of: not followed
};

// One side of connections: who saw the bytes, and the endpoint that names the session's other end.
struct McpHttpPeer {
  uint32_t pid = 0;         // the process that wrote or read the bytes
  bool server_side = false; // the watched process answered the requests (it is the MCP server)
  uint32_t server_pid = 0;  // server side: the server's root process
  std::string endpoint;     // client side: where the requests went (host[:port]); server side: the local port
  std::string connection;   // unique per connection: a session without an Mcp-Session-Id (stateless) is its own
};

// Sessions across connections (a Streamable HTTP session spans many): keys, origins and counters.
class McpHttpSessions {
 public:
  static constexpr uint64_t kIdleNs = 3600ull * 1'000'000'000ull;  // HTTP sessions have no close: idle ones end
  static constexpr size_t kMaxSessions = 4096;                      // sessions followed at once per side
  // The process and workload a pid belongs to (nullopt: unknown, the messages are not reported).
  using Resolve = std::function<std::optional<McpSessionOrigin>(uint32_t pid)>;

  McpHttpSessions(McpCalls& calls, Resolve resolve) : calls_(calls), resolve_(std::move(resolve)) {}

  // The session a message of this peer belongs to, opened on first use; "" when the process is unknown.
  McpSessionKey open(const McpHttpPeer& peer, const std::string& session_id, std::string_view transport,
                     uint64_t now_ns);
  void end(const McpHttpPeer& peer, const std::string& session_id, uint64_t now_ns);
  // A client process exited: its sessions end (calls in flight become no_answer).
  void forget_process(uint32_t pid, uint64_t now_ns);
  void feed(const McpSessionKey& key, protocols::Side from, protocols::JsonRpcMessage& message, uint64_t now_ns);
  // Sessions idle for kIdleNs end (their calls in flight: no_answer); at kMaxSessions the least recently seen ends.
  void expire(uint64_t now_ns);

  // An answer on the session was not parsed whole (cut, too large): the calls in flight may have been answered.
  void answer_lost(const McpSessionKey& key) { calls_.capture_gap(key, protocols::Side::kServer); }
  // A new connection's id (McpHttpPeer::connection).
  std::string new_connection_id() { return std::to_string(++connections_); }
  McpHttpStats& stats() { return stats_; }
  const McpHttpStats& stats() const { return stats_; }
  void report(credtrace::v1::AgentHealth& health, std::string_view prefix) const;

 private:
  uint64_t connections_ = 0;
  static McpSessionKey key_of(const McpHttpPeer& peer, const std::string& session_id);
  McpCalls& calls_;
  Resolve resolve_;
  void forget(const McpSessionKey& key, uint64_t now_ns);
  std::map<uint32_t, std::set<McpSessionKey>> by_pid_;  // client side: sessions a process opened
  std::map<McpSessionKey, uint64_t> last_seen_;         // every session this side opened: its last message
  McpHttpStats stats_;
};

// One HTTP/1.1 connection: its requests (in order) and their answers, paired first in, first out.
class McpHttpConnection final : public HttpExchangeObserver {
 public:
  static constexpr size_t kMaxPending = 64;                 // requests waiting for answers
  static constexpr size_t kMaxJsonBody = 4 * 1024 * 1024;   // application/json answers parsed up to this

  McpHttpConnection(McpHttpSessions& sessions, McpHttpPeer peer);
  ~McpHttpConnection() override;
  McpHttpConnection(const McpHttpConnection&) = delete;
  McpHttpConnection& operator=(const McpHttpConnection&) = delete;

  // A request on the connection (raw_query as on the wire: the HTTP+SSE session id is in it).
  void on_request(const protocols::HttpRequest& request, std::string_view raw_query, uint64_t now_ns) override;
  // An answer's header block: true when its body is wanted (on_response_body).
  bool on_response_head(const protocols::HttpResponse& head, uint64_t now_ns) override;
  void on_response_body(std::string_view bytes, bool end, bool cut, uint64_t now_ns) override;
  const McpHttpPeer& peer() const { return peer_; }

 private:
  struct Pending;
  struct Answer;
  class EventSink;

  void feed_request(Pending& pending, std::string_view body, uint64_t now_ns);
  void feed_body(const McpSessionKey& key, std::string_view body, protocols::Side from, uint64_t now_ns);
  void on_event(protocols::SseEvent& event, uint64_t now_ns);

  McpHttpSessions& sessions_;
  McpHttpPeer peer_;
  // In order of the requests (null: one that is not MCP); a vector, as an empty std::deque holds ~580 bytes
  std::vector<std::unique_ptr<Pending>> pending_;
  std::unique_ptr<Answer> answer_;  // the answer whose body is arriving
  uint64_t last_time_ns_ = 0;       // the latest request's time (0: none): when its own session ends
};

// Who a pid is for the call book: its process and its server's workload (nullopt when it belongs to no server).
McpHttpSessions::Resolve resolve_mcp_origin(tracking::ProcessTracker& tracker);

// Whether a request is MCP: a POST whose body is JSON-RPC with an MCP header or method, or a GET asking for an event
// stream with an MCP header (or the HTTP+SSE transport's /sse).
bool is_mcp_request(const protocols::HttpRequest& request);

}  // namespace credtrace::sensors
