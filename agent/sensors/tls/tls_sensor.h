// The TLS and socket sensor: OpenSSL uprobes placed per library file and attached per watched process (or per file
// for everyone in the global mode), plaintext reassembled per
// stream, HTTP requests' credentials reported as credential_use (aggregated per window) with their observed
// destination, and credentials servers issue in responses reported as secret_exposure; OAuth token requests and
// their answers as token_exchange, and JWTs sent where their aud does not point as audience_mismatch.
#pragma once

#include <memory>
#include <set>

#include "events/credential_facts.h"
#include "sensors/mcp/http_sessions.h"
#include "sensors/mcp/inbound_bearers.h"
#include "sensors/sensor.h"
#include "sensors/tls/audience_check.h"
#include "sensors/tls/credential_use.h"
#include "sensors/tls/start_attaches.h"
#include "sensors/tls/tls_coverage_report.h"
#include "sensors/tls/tls_libraries.h"
#include "sensors/tls/use_aggregator.h"

namespace credtrace::sensors {

class TlsSensor final : public Sensor {
 public:
  // bearers: the tokens HTTP MCP servers received (token passthrough is reported when one is given).
  // preload_captures: whether a process's TLS is captured by its preload (its libssl gets no uprobes); empty: never.
  explicit TlsSensor(SensorContext context, InboundBearers* bearers = nullptr, PreloadCaptures preload_captures = {});

  std::string_view name() const override { return "tls"; }
  std::vector<uint32_t> record_kinds() const override;
  void on_record(const void* data, size_t size) override;
  void start() override {
    libraries_.start();
    start_attaches_.begin();
  }
  void on_ready() override { start_attaches_.ready(Clock::now()); }
  // A watched process (exec, re-exec, server start): its TLS uprobes are attached now, before attribution completes.
  void on_joining(const process::ProcessRecord& record) override;
  void on_server_starting(const process::ProcessRecord& record, tracking::TrackedServer& server,
                          credtrace::v1::McpServerStart& start) override;
  void on_attributed(const process::ProcessRecord& record, const tracking::TrackedServer& server) override;
  void on_exit(uint32_t pid) override;
  void on_server_forgotten(uint32_t server_pid) override;
  void poll(Clock::time_point now) override;
  void stop() override;
  void report(credtrace::v1::AgentHealth& health) const override;
  void reload(const std::set<std::string>& changed_keys) override;
  void describe(credtrace::v1::AgentReady& ready) const override;
  // The preload of pid turned out to capture its TLS after its uprobes were attached: its libssl links go.
  void preload_became_active(uint32_t pid) {
    libraries_.preload_became_active(pid);
    coverage_.check(pid);
  }
  // A process expected to carry the preload never registered (a static or setuid program, the library disabled):
  // its libssl gets uprobes after all (the predicate now answers false for it).
  void attach_without_preload(uint32_t pid) {
    libraries_.attach_for_process(pid);
    coverage_.check(pid);
  }
  // The kernel holds a watched process at its libssl map until it is attached (see TlsLibraries).
  void set_libssl_maps_held(bool held) { libraries_.set_libssl_maps_held(held); }

 private:
  void on_tls_data(const ct_tls_data_event& e);
  void on_socket_data(const ct_tls_data_event& e);
  void on_tls_free(const ct_tls_free_event& e);
  void on_lib_map(const ct_lib_map_event& e);
  credtrace::v1::Credential describe_and_wipe(protocols::CarriedCredential& carried) const;
  // The same from the recent descriptions (valid until the next call): a use's credential, used again and again.
  const credtrace::v1::Credential& describe_use_and_wipe(protocols::CarriedCredential& carried);
  void emit_uses(std::vector<CredentialUse> uses);
  void emit_use(CredentialUse& use);
  static uint64_t made_ns(const CredentialUse& use);
  credtrace::v1::ToolCallLink link_use(const CredentialUse& use, const credtrace::v1::Credential& credential,
                                       uint32_t server_pid, const credtrace::v1::Process& process,
                                       const credtrace::v1::Workload& workload);
  void link_connection(const ct_connect_event& e);
  std::unique_ptr<HttpExchangeObserver> observe(uint32_t pid, bool served, std::string_view destination);
  void check_passthrough(const tracking::Attribution& who, const credtrace::v1::Credential& credential,
                         const CredentialUse& use, const credtrace::v1::ToolCallLink& link);
  void emit_issued(IssuedCredential& issued);
  void emit_token_exchanges(std::vector<ObservedTokenExchange> exchanges);
  void emit_token_exchange(ObservedTokenExchange& exchange);
  void check_audience(const credtrace::v1::Credential& credential, const CredentialUse& use,
                      const tracking::Attribution& who, const credtrace::v1::ToolCallLink& link);
  void emit_aggregated(std::vector<credtrace::v1::Event> events);
  void count_error(const std::string& kind) { ++errors_[kind]; }

  SensorContext context_;
  McpHttpSessions mcp_http_;    // MCP over HTTP the watched processes send (side client), on the streams of uses_
  McpHttpSessions mcp_served_;  // MCP over HTTPS the watched processes serve (side server: SSL_read requests)
  CredentialUseSensor uses_;
  TlsLibraries libraries_;
  TlsCoverageReport coverage_;
  StartAttaches start_attaches_;
  UseAggregator aggregator_;
  events::CredentialDescriptions use_descriptions_;
  AudienceChecker audience_;
  Clock::time_point last_expiry_{};
  std::map<std::string, uint64_t> errors_;
  InboundBearers* bearers_;
  std::set<std::string> passthroughs_reported_;  // server pid, fingerprint, destination host: once each
  uint64_t passthroughs_ = 0;
};

}  // namespace credtrace::sensors
