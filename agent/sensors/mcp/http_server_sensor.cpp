// MCP servers answering over plain HTTP on this host: accepted connections, requests read and answers written, through
// the HTTP/1.1 parsers into the call book (side server); bearer tokens received, by fingerprint.
#include "sensors/mcp/http_server_sensor.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <chrono>

#include "common/timestamp.h"
#include "protocols/stream_parser.h"
#include "sensors/tls/credential_use.h"

namespace credtrace::sensors {
namespace {

using streams::CloseReason;
using streams::Direction;

constexpr streams::CaptureGeometry kCapture{CT_TLS_CHUNK_LEN, CT_TLS_MAX_CHUNKS};
constexpr size_t kMaxAccepted = 65536;

streams::Chunk chunk_of(const ct_tls_data_event& e) {
  return {e.total_len, e.offset, std::string_view(e.data, std::min<size_t>(e.len, sizeof(e.data)))};
}

std::string peer_ip_of(const ct_accept_event& e) {
  char text[INET6_ADDRSTRLEN] = {};
  const int family = e.family == AF_INET6 ? AF_INET6 : AF_INET;
  return inet_ntop(family, e.peer_addr, text, sizeof(text)) ? std::string(text) : std::string();
}

}  // namespace

// Requests the server read: the call book's client side of each exchange.
class McpHttpServerSensor::RequestSink final : public protocols::MessageSink {
 public:
  RequestSink(McpHttpServerSensor& sensor, Tracker::Connection& connection, uint32_t pid, uint64_t now_ns)
      : sensor_(sensor), connection_(connection), pid_(pid), now_ns_(now_ns) {}
  void on_request(protocols::HttpRequest& request, std::string_view raw_query) override {
    sensor_.on_request(connection_, pid_, request, raw_query, now_ns_);
  }

 private:
  McpHttpServerSensor& sensor_;
  Tracker::Connection& connection_;
  uint32_t pid_;
  uint64_t now_ns_;
};

// Answers the server wrote: header blocks and bodies (JSON, event streams) as they are written.
class McpHttpServerSensor::AnswerSink final : public protocols::MessageSink {
 public:
  AnswerSink(Connection& connection, uint64_t now_ns) : connection_(connection), now_ns_(now_ns) {}
  bool on_response_head(const protocols::HttpResponse& head) override {
    return connection_.mcp && connection_.mcp->on_response_head(head, now_ns_);
  }
  void on_response_body(std::string_view bytes, bool end, bool cut) override {
    if (connection_.mcp) connection_.mcp->on_response_body(bytes, end, cut, now_ns_);
  }

 private:
  Connection& connection_;
  uint64_t now_ns_;
};

McpHttpServerSensor::McpHttpServerSensor(SensorContext context, InboundBearers& bearers)
    : context_(context),
      bearers_(bearers),
      sessions_(context.mcp_calls, resolve_mcp_origin(context.tracker)),
      streams_({16384, 3600ull * 1'000'000'000ull, kCapture},
               [](Direction direction, std::string_view first_bytes) {
                 // Requests are read; what the server writes is parsed once a request says what it answers.
                 if (direction != Direction::kRead) return protocols::Detection{};
                 return protocols::detect_client_protocol(first_bytes);
               },
               [this](const streams::StreamKey& key, Tracker::Connection& connection, CloseReason reason) {
                 if (reason != CloseReason::kClosed && reason != CloseReason::kProcessExit) return;
                 RequestSink requests(*this, connection, key.pid, connection.last_seen_ns);
                 connection.stream(Direction::kRead).finish(requests);
                 AnswerSink answers(connection.context, connection.last_seen_ns);
                 connection.stream(Direction::kWrite).finish(answers);
               }) {}

McpHttpServerSensor::~McpHttpServerSensor() = default;

void McpHttpServerSensor::on_record(const void* data, size_t /*size: checked by kernel::check_record*/) {
  switch (static_cast<const ct_event_header*>(data)->type) {
    case CT_EVENT_ACCEPT: return on_accept(*static_cast<const ct_accept_event*>(data));
    case CT_EVENT_SRV_SOCK_DATA: return on_data(*static_cast<const ct_tls_data_event*>(data));
    default: return;
  }
}

void McpHttpServerSensor::on_accept(const ct_accept_event& e) {
  ++accepts_;
  streams_.close({e.hdr.tgid, e.fd}, CloseReason::kReplaced);  // the fd number was reused
  if (!context_.tracker.attribute(e.hdr.tgid).server) {
    ++accepts_unattributed_;
    context_.kernel.stop_socket_capture(e.hdr.tgid, e.fd);
    return;
  }
  if (accepted_.size() >= kMaxAccepted) accepted_.clear();
  accepted_[{e.hdr.tgid, e.fd}] = {e.local_port, peer_ip_of(e)};
}

void McpHttpServerSensor::on_data(const ct_tls_data_event& e) {
  const uint32_t fd = static_cast<uint32_t>(e.ssl);
  const streams::StreamKey key{e.hdr.tgid, e.ssl};
  const bool is_new = streams_.find(key) == nullptr;
  Tracker::Connection& connection = streams_.open(key, e.hdr.time_boot_ns);
  if (is_new) {
    auto where = accepted_.find({e.hdr.tgid, fd});
    if (where != accepted_.end()) {
      connection.context.local_port = where->second.first;
      connection.context.peer_ip = where->second.second;
    }
  }
  streams::Accepted accepted;
  if (e.direction == CT_TLS_READ) {
    RequestSink sink(*this, connection, e.hdr.tgid, e.hdr.time_boot_ns);
    accepted = streams_.accept(connection, Direction::kRead, chunk_of(e), e.hdr.time_boot_ns, sink);
    const streams::Stream& reads = connection.stream(Direction::kRead);
    if (reads.decided() && (!reads.parser() || reads.parser()->protocol() != "http/1.1")) {
      ++streams_not_http_;  // TLS (served through SSL_read), HTTP/2, another protocol
      context_.kernel.stop_socket_capture(e.hdr.tgid, fd);
      streams_.close(key, CloseReason::kAbandoned);
      return;
    }
  } else {
    AnswerSink sink(connection.context, e.hdr.time_boot_ns);
    accepted = streams_.accept(connection, Direction::kWrite, chunk_of(e), e.hdr.time_boot_ns, sink);
  }
  capture_gaps_ += (accepted.holes.before ? 1 : 0) + (accepted.holes.after ? 1 : 0);
}

void McpHttpServerSensor::on_request(Tracker::Connection& connection, uint32_t pid, protocols::HttpRequest& request,
                                     std::string_view raw_query, uint64_t now_ns) {
  Connection& c = connection.context;
  streams::Stream& answers = connection.stream(Direction::kWrite);
  if (!answers.parser()) answers.set_parser(std::make_unique<protocols::Http1ResponseParser>());
  answers.parser()->on_peer_request(request.method);
  tracking::Attribution who = context_.tracker.attribute(pid);
  if (!who.server) return;
  if (!c.mcp) {
    McpHttpPeer peer{pid, true, who.server->pid, std::to_string(c.local_port), ""};
    c.mcp = std::make_unique<McpHttpConnection>(sessions_, std::move(peer));
  }
  note_inbound_bearers(bearers_, context_.fingerprinter, who.server->pid, request, c.local_port, c.peer_ip);
  c.mcp->on_request(request, raw_query, now_ns);
}

void McpHttpServerSensor::on_exit(uint32_t pid) {
  streams_.close_process(pid);
  for (auto it = accepted_.lower_bound({pid, 0}); it != accepted_.end() && it->first.first == pid;)
    it = accepted_.erase(it);
}

void McpHttpServerSensor::on_server_forgotten(uint32_t server_pid) {
  context_.mcp_calls.end_server(server_pid, common::boot_clock_ns());
  bearers_.forget_server(server_pid);
}

void McpHttpServerSensor::poll(Clock::time_point now) {
  if (now - last_expiry_ < std::chrono::seconds(1)) return;
  expire_idle(common::boot_clock_ns());
  last_expiry_ = now;
}

void McpHttpServerSensor::expire_idle(uint64_t boot_now_ns) {
  streams_.expire_idle(boot_now_ns);
  sessions_.expire(boot_now_ns);
}

void McpHttpServerSensor::stop() {
  std::vector<uint32_t> pids;
  streams_.for_each([&](const streams::StreamKey& key, Tracker::Connection&) { pids.push_back(key.pid); });
  for (uint32_t pid : pids) streams_.close_process(pid, CloseReason::kClosed);
}

void McpHttpServerSensor::report(credtrace::v1::AgentHealth& health) const {
  auto& sensors = *health.mutable_sensors();
  sessions_.report(health, "mcp_http_server_");
  sensors["mcp_http_server_accepts"] = accepts_;
  sensors["mcp_http_server_accepts_unattributed"] = accepts_unattributed_;
  sensors["mcp_http_server_streams_not_http"] = streams_not_http_;
  sensors["mcp_http_server_capture_gaps"] = capture_gaps_;
  sensors["mcp_http_server_truncated_calls"] = streams_.counters(Direction::kRead).truncated_calls +
                                               streams_.counters(Direction::kWrite).truncated_calls;
  sensors["mcp_http_server_streams_evicted"] = streams_.stats().evicted;
  sensors["mcp_inbound_bearers"] = bearers_.size();
  sensors["mcp_inbound_bearers_evicted"] = bearers_.evicted();
}

}  // namespace credtrace::sensors
