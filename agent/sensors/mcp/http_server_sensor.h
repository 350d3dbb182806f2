// MCP servers on this host answering over plain HTTP: the connections a watched server accepted (CT_EVENT_ACCEPT),
// the requests it reads and the answers it writes on them (CT_EVENT_SRV_SOCK_DATA) through the stream tracker and the
// HTTP/1.1 parsers into the call book (side server), and the bearer tokens its clients sent (token passthrough). TLS
// servers are followed by the TLS sensor (SSL_read requests, SSL_write answers) into the same call book.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "events.h"
#include "sensors/mcp/http_sessions.h"
#include "sensors/mcp/inbound_bearers.h"
#include "sensors/sensor.h"
#include "streams/stream_tracker.h"

namespace credtrace::sensors {

class McpHttpServerSensor final : public Sensor {
 public:
  explicit McpHttpServerSensor(SensorContext context, InboundBearers& bearers);
  ~McpHttpServerSensor() override;

  std::string_view name() const override { return "mcp_http_server"; }
  std::vector<uint32_t> record_kinds() const override { return {CT_EVENT_ACCEPT, CT_EVENT_SRV_SOCK_DATA}; }
  void on_record(const void* data, size_t size) override;
  void on_exit(uint32_t pid) override;
  void on_server_forgotten(uint32_t server_pid) override;
  void poll(Clock::time_point now) override;  // once a second: expire_idle(boot clock)
  // Ends the connections and sessions idle at boot_now_ns (boot clock, the records' clock).
  void expire_idle(uint64_t boot_now_ns);
  void stop() override;
  void report(credtrace::v1::AgentHealth& health) const override;

 private:
  // What the sensor keeps per accepted connection beside its two streams.
  struct Connection {
    std::unique_ptr<McpHttpConnection> mcp;  // made at the first request
    uint32_t local_port = 0;
    std::string peer_ip;
  };
  using Tracker = streams::StreamTracker<Connection>;
  class RequestSink;
  class AnswerSink;

  void on_accept(const ct_accept_event& e);
  void on_data(const ct_tls_data_event& e);
  void on_request(Tracker::Connection& connection, uint32_t pid, protocols::HttpRequest& request,
                  std::string_view raw_query, uint64_t now_ns);

  SensorContext context_;
  InboundBearers& bearers_;
  McpHttpSessions sessions_;
  Tracker streams_;
  std::map<std::pair<uint32_t, uint32_t>, std::pair<uint32_t, std::string>> accepted_;  // (tgid, fd) → port, peer
  Clock::time_point last_expiry_{};
  uint64_t accepts_ = 0;
  uint64_t accepts_unattributed_ = 0;  // accepted by a process that belongs to no server (capture stopped)
  uint64_t streams_not_http_ = 0;      // accepted connections whose first bytes were not HTTP/1.1 (capture stopped)
  uint64_t capture_gaps_ = 0;
};

}  // namespace credtrace::sensors
