// The agent: wiring (sinks, probes, the process tracker, the sensors) and the main loop. What each part does lives
// in its own module: tracking/, sensors/, events/, export/, kernel/ and loader/.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "metrics/metrics_server.h"
#include "systemd_notify.h"
#include "config/agent_config.h"
#include "events/credential_registry.h"
#include "events/event_factory.h"
#include "export/event_sink.h"
#include "identity/kube_api.h"
#include "kernel/kernel_control.h"
#include "loader/probes.h"
#include "secrets/fingerprint.h"
#include "sensors/mcp/inbound_bearers.h"
#include "sensors/sensor.h"
#include "tracking/process_tracker.h"

namespace credtrace {
namespace sensors {
class PreloadSensor;
}

// Drops the sources the registry kept for a server instance once the tracker forgets it (exited, or its pid reused).
class ForgetServerSources final : public tracking::ProcessObserver {
 public:
  explicit ForgetServerSources(events::CredentialRegistry& registry) : registry_(registry) {}
  void on_server_forgotten(uint32_t server_pid) override { registry_.forget_server(server_pid); }

 private:
  events::CredentialRegistry& registry_;
};

// Why the files the config names cannot be used ("" when they can): the fleet key file refused (an absent one is made
// at start: a warning), the collector's token, CA or client certificate unreadable, its URL refused. For
// --check-config; nothing is created.
std::string config_files_problem(const config::AgentConfig& config);

class Agent {
 public:
  // Everything that can fail before probes attach (output, fleet key, collector) fails here, with a message.
  static std::unique_ptr<Agent> create(const config::AgentConfig& config, std::string* error);
  // Attaches probes, finds running servers, emits agent_ready, then handles events until stop is set. Each time
  // *reload is set (SIGHUP) the loop clears it and calls on_reload, which plans the reload and calls apply_reload.
  int run(const std::atomic<bool>& stop, std::atomic<bool>* reload = nullptr, std::function<void()> on_reload = {});
  // Applies the reloadable keys of a validated config (config::reloadable_keys) that changed. Returns those refused
  // (an output that cannot be opened, collector settings that cannot start a sink): their running values are kept.
  std::vector<std::string> apply_reload(const config::AgentConfig& next, const std::vector<std::string>& keys);
  // Reopens the running output.json file by its path (SIGHUP after logrotate moved it away); stdout and no output are
  // left as they are. A path that cannot be opened keeps the open file, with an error logged.
  void reopen_json_output_file();
  ~Agent();

 private:
  Agent(const config::AgentConfig& config, secrets::Fingerprinter fingerprinter, std::string agent_id);

  bool start_probes();
  void start_pod_watch();
  void add_sensor(std::unique_ptr<sensors::Sensor> sensor);
  void route(kernel::RecordHandler& handler);
  void on_kernel_record(const void* data, size_t size);
  void loop(const std::atomic<bool>& stop, std::atomic<bool>* reload, const std::function<void()>& on_reload);
  bool reopen_json_output(const config::AgentConfig& before);
  bool restart_collector(const config::AgentConfig& before);
  void emit_ready();
  void emit_health();
  void fill_health(credtrace::v1::AgentHealth& health);
  std::string status_line() const;
  void count_error(const std::string& kind) { ++errors_[kind]; }

  config::AgentConfig config_;
  secrets::Fingerprinter fingerprinter_;
  events::EventFactory events_;
  exporter::FanOutSink sink_;
  events::CredentialRegistry registry_;
  // Kubernetes pod identity from the API server (kubernetes.api_watch); outlives the tracker that reads the cache.
  identity::PodCache pod_cache_;
  std::unique_ptr<identity::PodWatcher> pod_watch_;
  // Destroyed in reverse: the sensors, then the tracker, then the probes (detached), then the registry and sinks.
  std::unique_ptr<loader::Probes> probes_;
  std::unique_ptr<tracking::ProcessTracker> tracker_;
  std::unique_ptr<sensors::McpCalls> mcp_calls_;
  sensors::InboundBearers inbound_bearers_;  // bearer tokens HTTP MCP servers received (token passthrough)
  std::vector<std::unique_ptr<sensors::Sensor>> sensors_;
  sensors::PreloadSensor* preload_ = nullptr;  // one of sensors_: the TLS sensor asks it which processes it covers
  std::array<kernel::RecordHandler*, CT_EVENT_TYPE_MAX> routes_{};
  std::map<std::string, uint64_t> errors_;
  uint64_t execs_held_ = 0;  // watched execs the kernel stopped and the agent continued
  SystemdNotifier systemd_;  // Type=notify: ready after agent_ready, watchdog from the loop, status at each health
  metrics::MetricsServer metrics_;  // metrics.enabled: GET /metrics and /healthz from the loop
  bool ready_ = false;              // agent_ready emitted and the loop running (/healthz)
  std::chrono::steady_clock::time_point started_;
  ForgetServerSources forget_server_sources_{registry_};
};

}  // namespace credtrace
