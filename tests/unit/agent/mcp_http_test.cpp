// MCP over HTTP through the sensors wired as in the agent (tracker, call book, recording sink; synthetic kernel
// records): a server's accepted connection (side server) and a client's TLS stream (side client) become
// mcp_tool_call events with the Mcp-Session-Id, SSE answers split anywhere included; a bearer token the server received
// and then sent elsewhere is a token_passthrough; raw values appear in no event.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>

#include "../protocols/fake_secrets.h"
#include "kernel_stand_in.h"
#include "export/json_lines_sink.h"
#include "sensors/mcp/http_server_sensor.h"
#include "sensors/tls/tls_sensor.h"

namespace credtrace {
namespace {

namespace fake = protocols::testing;
using credtrace::testing::NoKernel;
using credtrace::testing::server_exec;

std::unique_ptr<ct_tls_data_event> data(uint32_t type, uint32_t pid, uint64_t stream, uint32_t direction,
                                        const std::string& bytes, uint64_t time_ns) {
  return credtrace::testing::data_record(type, pid, stream, direction, bytes, time_ns);
}

struct RecordingSink final : exporter::EventSink {
  std::vector<credtrace::v1::Event> events;
  void write(const credtrace::v1::Event& event) override { events.push_back(event); }
  void report(credtrace::v1::AgentHealth&) const override {}
  std::vector<credtrace::v1::Event> all(const std::string& type) const {
    std::vector<credtrace::v1::Event> out;
    for (const auto& e : events)
      if (e.type() == type) out.push_back(e);
    return out;
  }
};

std::string post(const std::string& body, const std::string& extra_headers) {
  return "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:3001\r\nContent-Type: application/json\r\n"
         "Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2025-06-18\r\n" +
         extra_headers + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string chunk(const std::string& bytes) {
  char size[16];
  std::snprintf(size, sizeof(size), "%zx\r\n", bytes.size());
  return size + bytes + "\r\n";
}

const std::string kInitialize =
    R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},)"
    R"("clientInfo":{"name":"unit-client","version":"1.0"}}})";
const std::string kInitialized =
    R"({"jsonrpc":"2.0","result":{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},)"
    R"("serverInfo":{"name":"unit-server","version":"2.0"}},"id":0})";

class McpHttp : public ::testing::Test {
 protected:
  McpHttp() {
    config.mcp.scan_user_homes = false;
    std::string error;
    fingerprinter = secrets::Fingerprinter::from_key("unit-test-fleet-key-0123456789abcdef", &error);
    calls = std::make_unique<sensors::McpCalls>(sensors::McpCallsDeps{*fingerprinter, events, sink, registry},
                                                sensors::McpCallsOptions{});
    context = std::make_unique<sensors::SensorContext>(
        sensors::SensorContext{config, *fingerprinter, events, sink, registry, tracker, kernel, kernel, *calls});
    server = std::make_unique<sensors::McpHttpServerSensor>(*context, bearers);
    tls = std::make_unique<sensors::TlsSensor>(*context, &bearers);
    tracker.add_observer(server.get());
    tracker.add_observer(tls.get());
    tracker.on_exec(server_exec(kServer));
  }

  void accept(uint32_t fd) {
    ct_accept_event e{};
    e.hdr.type = CT_EVENT_ACCEPT;
    e.hdr.tgid = e.hdr.pid = kServer;
    e.fd = fd;
    e.family = 2;
    e.local_port = 3001;
    e.peer_port = 40000;
    e.peer_addr[0] = 127;
    e.peer_addr[3] = 1;
    server->on_record(&e, sizeof(e));
  }
  void server_reads(uint32_t fd, const std::string& bytes) {
    server->on_record(data(CT_EVENT_SRV_SOCK_DATA, kServer, fd, CT_TLS_READ, bytes, ++now).get(), 0);
  }
  void server_writes(uint32_t fd, const std::string& bytes) {
    server->on_record(data(CT_EVENT_SRV_SOCK_DATA, kServer, fd, CT_TLS_WRITE, bytes, ++now).get(), 0);
  }
  std::vector<credtrace::v1::McpToolCall> tool_calls(const std::string& side) const {
    std::vector<credtrace::v1::McpToolCall> out;
    for (const auto& e : sink.all("mcp_tool_call"))
      if (e.mcp_tool_call().side() == side) out.push_back(e.mcp_tool_call());
    return out;
  }
  void expect_no_raw(const std::string& secret) const {
    for (const auto& event : sink.events)
      EXPECT_EQ(exporter::event_to_json_line(event).find(secret), std::string::npos) << event.type();
  }

  static constexpr uint32_t kServer = 7300;
  uint64_t now = 1'000'000'000ull;
  config::AgentConfig config = config::default_config();
  std::optional<secrets::Fingerprinter> fingerprinter;
  NoKernel kernel;
  RecordingSink sink;
  events::EventFactory events{"host-a", "agt_test"};
  events::CredentialRegistry registry;
  tracking::ProcessTracker tracker{config, kernel, sink, events};
  sensors::InboundBearers bearers;
  std::unique_ptr<sensors::McpCalls> calls;
  std::unique_ptr<sensors::SensorContext> context;
  std::unique_ptr<sensors::McpHttpServerSensor> server;
  std::unique_ptr<sensors::TlsSensor> tls;
};

TEST_F(McpHttp, ServerSideCallsCarryTheSessionIdAndSseAnswersSplitAnywhere) {
  accept(9);
  server_reads(9, post(kInitialize, ""));
  const std::string sse_head =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nMcp-Session-Id: sess-42\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  const std::string answer = chunk("event: message\ndata: " + kInitialized + "\n\n") + "0\r\n\r\n";
  server_writes(9, sse_head + answer.substr(0, 40));
  server_writes(9, answer.substr(40));
  const std::string call =
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hi"}}})";
  server_reads(9, post(call, "Mcp-Session-Id: sess-42\r\n"));
  const std::string result = R"({"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hi"}]}})";
  const std::string events_body = "event: message\ndata: " +
                                   std::string(R"({"jsonrpc":"2.0","method":"notifications/message","params":{}})") +
                                   "\n\nevent: message\ndata: " + result + "\n\n";
  server_writes(9, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n" +
                       chunk(events_body.substr(0, 70)));
  server_writes(9, chunk(events_body.substr(70)));  // the answer's event arrives before the body ends

  auto calls_seen = tool_calls("server");
  ASSERT_EQ(calls_seen.size(), 2u);
  EXPECT_EQ(calls_seen[0].method(), "initialize");
  EXPECT_EQ(calls_seen[0].client_name(), "unit-client");
  EXPECT_EQ(calls_seen[1].method(), "tools/call");
  EXPECT_EQ(calls_seen[1].tool(), "echo");
  EXPECT_EQ(calls_seen[1].outcome(), "ok");
  for (const auto& c : calls_seen) {
    EXPECT_EQ(c.transport(), "http");
    EXPECT_EQ(c.session_id(), "sess-42");
  }
}

TEST_F(McpHttp, ABearerTheServerReceivedAndSendsElsewhereIsPassthrough) {
  const std::string token = fake::github_pat();
  accept(11);
  server_reads(11, post(kInitialize, "Authorization: Bearer " + token + "\r\n"));
  server_writes(11, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nMcp-Session-Id: s1\r\nContent-Length: " +
                        std::to_string(kInitialized.size()) + "\r\n\r\n" + kInitialized);
  ASSERT_EQ(tool_calls("server").size(), 1u);
  const std::string downstream =
      "GET /user HTTP/1.1\r\nHost: api.github.com\r\nAuthorization: Bearer " + token + "\r\n\r\n";
  tls->on_record(data(CT_EVENT_TLS_DATA, kServer, 0x7f00aa, CT_TLS_WRITE, downstream, ++now).get(), 0);
  tls->stop();
  const auto passthrough = sink.all("token_passthrough");
  ASSERT_EQ(passthrough.size(), 1u);
  EXPECT_EQ(passthrough[0].destination().host(), "api.github.com");
  EXPECT_EQ(passthrough[0].token_passthrough().received_port(), 3001u);
  EXPECT_EQ(passthrough[0].token_passthrough().received_path(), "/mcp");
  EXPECT_EQ(passthrough[0].token_passthrough().received_from_ip(), "127.0.0.1");
  EXPECT_EQ(passthrough[0].credential().fingerprint(), fingerprinter->fingerprint(token));
  expect_no_raw(token);
}

TEST_F(McpHttp, ClientSideOverTlsWithJsonAnswers) {
  const std::string secret = fake::github_pat();
  const uint64_t ssl = 0x7f00bb;
  auto write = [&](const std::string& bytes) {
    tls->on_record(data(CT_EVENT_TLS_DATA, kServer, ssl, CT_TLS_WRITE, bytes, ++now).get(), 0);
  };
  auto read = [&](const std::string& bytes) {
    tls->on_record(data(CT_EVENT_TLS_DATA, kServer, ssl, CT_TLS_READ, bytes, ++now).get(), 0);
  };
  write(post(kInitialize, ""));
  read("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nMcp-Session-Id: c-7\r\nContent-Length: " +
       std::to_string(kInitialized.size()) + "\r\n\r\n" + kInitialized);
  write(post(R"({"jsonrpc":"2.0","method":"notifications/initialized"})", "Mcp-Session-Id: c-7\r\n"));
  read("HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");
  const std::string call = R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"lookup","arguments":{)"
                           R"("q":")" + secret + R"("}}})";
  write(post(call, "Mcp-Session-Id: c-7\r\n"));
  const std::string error = R"({"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"unknown tool"}})";
  read("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(error.size()) +
       "\r\n\r\n" + error);
  auto calls_seen = tool_calls("client");
  ASSERT_EQ(calls_seen.size(), 2u);
  EXPECT_EQ(calls_seen[1].tool(), "lookup");
  EXPECT_EQ(calls_seen[1].outcome(), "jsonrpc_error");
  EXPECT_EQ(calls_seen[1].error_code(), -32602);
  EXPECT_EQ(calls_seen[1].session_id(), "c-7");
  EXPECT_EQ(calls_seen[1].arguments_shape(), R"({"q":"string"})");  // a shape: never the value
  expect_no_raw(secret);
}

TEST_F(McpHttp, TlsServerReadsRequestsThroughSslReadAndWritesAnswers) {
  const uint64_t ssl = 0x7f00cc;
  auto read = [&](const std::string& bytes) {
    tls->on_record(data(CT_EVENT_TLS_DATA, kServer, ssl, CT_TLS_READ, bytes, ++now).get(), 0);
  };
  auto write = [&](const std::string& bytes) {
    tls->on_record(data(CT_EVENT_TLS_DATA, kServer, ssl, CT_TLS_WRITE, bytes, ++now).get(), 0);
  };
  const std::string token = fake::github_pat();
  read(post(kInitialize, "Authorization: Bearer " + token + "\r\n"));
  write("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nMcp-Session-Id: t-1\r\nTransfer-Encoding: chunked\r\n\r\n");
  write(chunk("event: message\ndata: " + kInitialized + "\n\n"));
  auto calls_seen = tool_calls("server");
  ASSERT_EQ(calls_seen.size(), 1u);
  EXPECT_EQ(calls_seen[0].session_id(), "t-1");
  EXPECT_EQ(calls_seen[0].transport(), "http");
  EXPECT_TRUE(bearers.inbound_bearer(kServer, fingerprinter->fingerprint(token)));
  expect_no_raw(token);
}

TEST_F(McpHttp, BatchAnswersEncodedAndOversizedBodiesAndDeleteEndingTheSession) {
  accept(14);
  server_reads(14, post(kInitialize, ""));
  server_writes(14, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nMcp-Session-Id: b-1\r\nContent-Length: " +
                        std::to_string(kInitialized.size()) + "\r\n\r\n" + kInitialized);
  const std::string batch = R"([{"jsonrpc":"2.0","id":2,"method":"tools/list"},)"
                            R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"slow"}}])";
  server_reads(14, post(batch, "Mcp-Session-Id: b-1\r\n"));
  const std::string answers = R"([{"jsonrpc":"2.0","id":2,"result":{"tools":[]}}])";
  server_writes(14, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                        std::to_string(answers.size()) + "\r\n\r\n" + answers);
  server_reads(14, post(R"({"jsonrpc":"2.0","id":4,"method":"ping"})", "Mcp-Session-Id: b-1\r\n"));
  server_writes(14, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
                    "Content-Length: 4\r\n\r\n\x1f\x8b\x08\x00");
  server_reads(14, "DELETE /mcp HTTP/1.1\r\nHost: x\r\nMcp-Session-Id: b-1\r\n\r\n");
  auto calls_seen = tool_calls("server");
  ASSERT_EQ(calls_seen.size(), 4u);  // initialize and tools/list answered; the slow call and the ping end unanswered
  EXPECT_EQ(calls_seen[1].method(), "tools/list");
  EXPECT_EQ(calls_seen[1].outcome(), "ok");
  for (size_t i = 2; i < 4; ++i) {
    EXPECT_EQ(calls_seen[i].outcome(), "no_answer");
    EXPECT_EQ(calls_seen[i].no_answer(), "session_end");
  }
  credtrace::v1::AgentHealth health;
  server->report(health);
  EXPECT_EQ(health.sensors().at("mcp_http_server_bodies_encoded"), 1u);
  EXPECT_EQ(health.sensors().at("mcp_http_server_sessions_ended"), 1u);
}

TEST_F(McpHttp, TheGetStreamCarriesServerRequestsAnsweredByPosts) {
  accept(16);
  accept(17);
  server_reads(16, post(kInitialize, ""));
  server_writes(16, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nMcp-Session-Id: g-1\r\nContent-Length: " +
                        std::to_string(kInitialized.size()) + "\r\n\r\n" + kInitialized);
  server_reads(17, "GET /mcp HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nMcp-Session-Id: g-1\r\n\r\n");
  server_writes(17, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n" +
                        chunk(": keep-alive\n\nid: 1\nevent: message\ndata: "
                              R"({"jsonrpc":"2.0","id":5,"method":"sampling/createMessage","params":{}})"
                              "\n\n"));
  server_reads(16, post(R"({"jsonrpc":"2.0","id":5,"result":{"role":"assistant","content":{}}})",
                        "Mcp-Session-Id: g-1\r\n"));
  server_writes(16, "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");
  auto calls_seen = tool_calls("server");
  ASSERT_EQ(calls_seen.size(), 2u);
  EXPECT_EQ(calls_seen[1].method(), "sampling/createMessage");
  EXPECT_EQ(calls_seen[1].requester(), "server");
  EXPECT_EQ(calls_seen[1].outcome(), "ok");
  EXPECT_EQ(calls_seen[1].session_id(), "g-1");
}

TEST_F(McpHttp, IdleSessionsEndAfterAnHour) {
  accept(15);
  server_reads(15, post(kInitialize, ""));
  server_writes(15, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nMcp-Session-Id: i-1\r\nContent-Length: " +
                        std::to_string(kInitialized.size()) + "\r\n\r\n" + kInitialized);
  server_reads(15, post(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"never"}})",
                        "Mcp-Session-Id: i-1\r\n"));
  server->expire_idle(now + sensors::McpHttpSessions::kIdleNs);  // an hour after the last of these synthetic times
  auto calls_seen = tool_calls("server");
  ASSERT_EQ(calls_seen.size(), 2u);
  EXPECT_EQ(calls_seen[1].no_answer(), "session_end");
  credtrace::v1::AgentHealth health;
  server->report(health);
  EXPECT_EQ(health.sensors().at("mcp_http_server_sessions_expired"), 1u);
  EXPECT_EQ(health.sensors().at("mcp_http_server_sessions_open"), 0u);
}

TEST_F(McpHttp, NonMcpAndGarbageOnAcceptedSocketsAreCountedNotReported) {
  accept(12);
  server_reads(12, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  server_writes(12, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  server_reads(12, post("not json at all", ""));
  server_writes(12, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
  accept(13);
  server_reads(13, std::string("\x16\x03\x01\x02\x00\x01", 6));  // a TLS ClientHello: served through SSL_read
  EXPECT_TRUE(tool_calls("server").empty());
  EXPECT_EQ(kernel.stopped, 1);
  credtrace::v1::AgentHealth health;
  server->report(health);
  EXPECT_EQ(health.sensors().at("mcp_http_server_streams_not_http"), 1u);
  EXPECT_EQ(health.sensors().at("mcp_http_server_bodies_not_jsonrpc"), 1u);
}

}  // namespace
}  // namespace credtrace
