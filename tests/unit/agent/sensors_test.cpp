// The sensors wired as in the agent (tracker, registry, factory, a recording sink; no BPF): a credential a server's
// environment holds and its TLS request carries becomes a secret_exposure and a credential_use naming the
// environment as its source, both with the fingerprint only; raw values appear in no event.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>

#include "../protocols/fake_secrets.h"
#include "kernel_stand_in.h"
#include "export/json_lines_sink.h"
#include "sensors/env/env_sensor.h"
#include "sensors/tls/tls_sensor.h"

namespace credtrace {
namespace {

namespace fake = protocols::testing;
using credtrace::testing::NoKernel;
using credtrace::testing::server_exec;

struct RecordingSink final : exporter::EventSink {
  std::vector<credtrace::v1::Event> events;
  void write(const credtrace::v1::Event& event) override { events.push_back(event); }
  void report(credtrace::v1::AgentHealth&) const override {}
  std::optional<credtrace::v1::Event> first(const std::string& type) const {
    for (const auto& e : events)
      if (e.type() == type) return e;
    return std::nullopt;
  }
};

// A fake /proc holding one process's environ (the server's: the kernel sent no block for it).
std::filesystem::path fake_proc_with_environ(uint32_t pid, const std::string& environ) {
  auto root = std::filesystem::temp_directory_path() / ("ct-sensors-test-" + std::to_string(getpid()));
  std::filesystem::create_directories(root / std::to_string(pid));
  std::ofstream(root / std::to_string(pid) / "environ", std::ios::binary) << environ;
  return root;
}

std::unique_ptr<ct_tls_data_event> tls_write(uint32_t pid, uint64_t ssl, const std::string& bytes) {
  return credtrace::testing::data_record(CT_EVENT_TLS_DATA, pid, ssl, CT_TLS_WRITE, bytes, 1'000'000'000ull);
}

TEST(Sensors, EnvironmentSecretIsTheSourceOfItsTlsUseAndNeverLeavesRaw) {
  constexpr uint32_t kServer = 7100;
  const std::string token = fake::github_pat();
  const auto proc = fake_proc_with_environ(kServer, "PATH=/usr/bin" + std::string(1, '\0') + "GITHUB_TOKEN=" + token +
                                                        std::string(1, '\0'));
  auto config = config::default_config();
  config.proc_root = proc.string();
  config.mcp.scan_user_homes = false;
  std::string error;
  auto fingerprinter = secrets::Fingerprinter::from_key("unit-test-fleet-key-0123456789abcdef", &error);
  ASSERT_TRUE(fingerprinter) << error;
  NoKernel kernel;
  RecordingSink sink;
  events::EventFactory events("host-a", "agt_test");
  events::CredentialRegistry registry;
  tracking::ProcessTracker tracker(config, kernel, sink, events);
  sensors::McpCalls mcp_calls({*fingerprinter, events, sink, registry}, sensors::McpCallsOptions{});
  sensors::SensorContext context{config, *fingerprinter, events, sink, registry, tracker, kernel, kernel, mcp_calls};
  sensors::EnvSensor env(context);
  sensors::TlsSensor tls(context);
  tracker.add_observer(&env);
  tracker.add_observer(&tls);

  tracker.on_exec(server_exec(kServer));
  const auto exposure = sink.first("secret_exposure");
  ASSERT_TRUE(exposure);
  EXPECT_EQ(exposure->source().kind(), "env");
  EXPECT_EQ(exposure->source().name(), "GITHUB_TOKEN");
  EXPECT_EQ(exposure->credential().type(), "github_pat");
  EXPECT_EQ(exposure->credential().fingerprint(), fingerprinter->fingerprint(token));

  const std::string request =
      "GET /user HTTP/1.1\r\nHost: api.github.com\r\nAuthorization: Bearer " + token + "\r\n\r\n";
  tls.on_record(tls_write(kServer, 0x7f0011, request).get(), sizeof(ct_tls_data_event));
  tls.stop();  // the use waited for its socket: released with the address unknown, then the window flushed
  const auto use = sink.first("credential_use");
  ASSERT_TRUE(use);
  EXPECT_EQ(use->credential().fingerprint(), fingerprinter->fingerprint(token));
  EXPECT_EQ(use->destination().host(), "api.github.com");
  EXPECT_EQ(use->destination().address_source(), "unknown");
  ASSERT_EQ(use->sources_size(), 1);
  EXPECT_EQ(use->sources(0).kind(), "env");
  EXPECT_EQ(use->workload().id(), exposure->workload().id());

  for (const auto& event : sink.events)
    EXPECT_EQ(exporter::event_to_json_line(event).find(token), std::string::npos) << event.type();
  std::filesystem::remove_all(proc);
}

std::unique_ptr<ct_tls_data_event> tls_read(uint32_t pid, uint64_t ssl, const std::string& bytes) {
  auto e = tls_write(pid, ssl, bytes);
  e->direction = CT_TLS_READ;
  e->hdr.time_boot_ns += 1000;
  return e;
}

// The TLS sensor wired to a tracker that knows one server (no environment).
struct TlsWired {
  static constexpr uint32_t kServer = 7200;
  TlsWired() {
    config.proc_root = "/nonexistent-proc-root";
    config.mcp.scan_user_homes = false;
    std::string error;
    fingerprinter = secrets::Fingerprinter::from_key("unit-test-fleet-key-0123456789abcdef", &error);
    tracker.add_observer(&tls);
    tracker.on_exec(server_exec(kServer));
  }
  void write(uint64_t ssl, const std::string& bytes) {
    tls.on_record(tls_write(kServer, ssl, bytes).get(), sizeof(ct_tls_data_event));
  }
  void read(uint64_t ssl, const std::string& bytes) {
    tls.on_record(tls_read(kServer, ssl, bytes).get(), sizeof(ct_tls_data_event));
  }
  std::vector<credtrace::v1::Event> all(const std::string& type) const {
    std::vector<credtrace::v1::Event> out;
    for (const auto& e : sink.events)
      if (e.type() == type) out.push_back(e);
    return out;
  }
  uint64_t health(const std::string& counter) const {
    credtrace::v1::AgentHealth report;
    tls.report(report);
    return report.sensors().at(counter);
  }

  config::AgentConfig config = config::default_config();
  std::optional<secrets::Fingerprinter> fingerprinter;
  NoKernel kernel;
  RecordingSink sink;
  events::EventFactory events{"host-a", "agt_test"};
  events::CredentialRegistry registry;
  tracking::ProcessTracker tracker{config, kernel, sink, events};
  sensors::McpCalls mcp_calls{{*fingerprinter, events, sink, registry}, sensors::McpCallsOptions{}};
  sensors::SensorContext context{config, *fingerprinter, events, sink, registry, tracker, kernel, kernel, mcp_calls};
  sensors::TlsSensor tls{context};
};

std::string form_post(const std::string& host, const std::string& form) {
  return "POST /oauth2/token HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/x-www-form-urlencoded\r\n"
         "Content-Length: " + std::to_string(form.size()) + "\r\n\r\n" + form;
}

std::string json_ok(const std::string& body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

TEST(Sensors, TokenExchangeIsReportedAndItsIssuedTokenIsTheSourceOfItsUse) {
  TlsWired wired;
  const std::string subject = fake::jwt();
  const std::string secret = fake::generic_secret(40);
  const std::string issued = fake::generic_secret(48);
  wired.write(0x7f0021, form_post("auth.example.com",
                                  "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token=" +
                                      subject + "&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt"
                                      "&audience=mock-api&resource=https%3A%2F%2Fapi.example.com%2F&client_id=probe"
                                      "&client_secret=" + secret));
  wired.read(0x7f0021, json_ok(R"({"access_token":")" + issued +
                               R"(","issued_token_type":"urn:ietf:params:oauth:token-type:access_token",)"
                               R"("token_type":"Bearer","expires_in":900})"));
  const auto exchange = wired.sink.first("token_exchange");
  ASSERT_TRUE(exchange);
  const auto& detail = exchange->token_exchange();
  EXPECT_EQ(detail.grant_type(), "token_exchange");
  EXPECT_EQ(detail.client_id(), "probe");
  ASSERT_EQ(detail.audience_size(), 1);
  EXPECT_EQ(detail.audience(0), "mock-api");
  EXPECT_EQ(detail.resource(0), "https://api.example.com/");
  EXPECT_EQ(detail.status(), 200);
  ASSERT_EQ(detail.presented_size(), 2);
  EXPECT_EQ(detail.presented(0).role(), "client_secret");
  EXPECT_EQ(detail.presented(0).credential().fingerprint(), wired.fingerprinter->fingerprint(secret));
  EXPECT_EQ(detail.presented(1).role(), "subject_token");
  EXPECT_EQ(detail.presented(1).credential().type(), "jwt");
  EXPECT_EQ(detail.presented(1).credential().fingerprint(), wired.fingerprinter->fingerprint(subject));
  ASSERT_EQ(detail.issued_size(), 1);
  EXPECT_EQ(detail.issued(0).role(), "access_token");
  EXPECT_EQ(detail.issued(0).expires_in(), 900);
  EXPECT_EQ(detail.issued(0).token_type(), "urn:ietf:params:oauth:token-type:access_token");
  EXPECT_EQ(detail.issued(0).credential().fingerprint(), wired.fingerprinter->fingerprint(issued));
  EXPECT_EQ(exchange->destination().host(), "auth.example.com");
  EXPECT_EQ(exchange->request().path(), "/oauth2/token");

  wired.write(0x7f0022, "GET /v1/items HTTP/1.1\r\nHost: api.example.com\r\nAuthorization: Bearer " + issued + "\r\n\r\n");
  wired.tls.stop();
  credtrace::v1::Event use;
  for (const auto& e : wired.all("credential_use"))
    if (e.credential().fingerprint() == wired.fingerprinter->fingerprint(issued)) use = e;
  bool listed = false;
  for (const auto& source : use.sources())
    listed = listed || (source.kind() == "token_exchange" && source.path() == "auth.example.com/oauth2/token" &&
                        source.key() == "token_exchange");
  EXPECT_TRUE(listed) << use.DebugString();
  EXPECT_EQ(wired.health("token_requests_answered"), 1u);
  for (const auto& event : wired.sink.events) {
    const std::string line = exporter::event_to_json_line(event);
    for (const std::string& raw : {subject, secret, issued}) EXPECT_EQ(line.find(raw), std::string::npos) << event.type();
  }
}

TEST(Sensors, AJwtSentWhereItsAudienceDoesNotPointIsReportedOnce) {
  TlsWired wired;
  const std::string jwt = fake::base64(R"({"alg":"RS256"})", true) + "." +
                          fake::base64(R"({"aud":"https://other.example/","exp":1900000000})", true) + "." +
                          fake::random_from(fake::kWordDash, 43);
  const std::string request = "GET /v1 HTTP/1.1\r\nHost: localhost:8443\r\nAuthorization: Bearer " + jwt + "\r\n\r\n";
  wired.write(0x7f0031, request);
  wired.write(0x7f0032, request);  // another stream, same destination
  wired.tls.stop();
  const auto mismatches = wired.all("audience_mismatch");
  ASSERT_EQ(mismatches.size(), 1u);
  EXPECT_EQ(mismatches[0].audience_mismatch().destination_host(), "localhost");
  EXPECT_EQ(mismatches[0].audience_mismatch().aud(0), "https://other.example/");
  EXPECT_EQ(mismatches[0].credential().fingerprint(), wired.fingerprinter->fingerprint(jwt));
  EXPECT_EQ(mismatches[0].destination().host(), "localhost:8443");
  EXPECT_EQ(mismatches[0].request().carrier(), "header:authorization");
  EXPECT_EQ(wired.health("audience_mismatches"), 1u);
  EXPECT_EQ(wired.health("audience_mismatch_repeats"), 1u);
  for (const auto& event : wired.sink.events)
    EXPECT_EQ(exporter::event_to_json_line(event).find(jwt), std::string::npos) << event.type();
}

}  // namespace
}  // namespace credtrace
