// The agent's wiring and main loop: sinks and fleet key at create, then probes, the tracker and the sensors, kernel
// records routed to whoever claims their kind, periodic work, agent_ready and agent_health.
#include "agent.h"

#include "common/timestamp.h"
#include "metrics/prometheus_text.h"

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <string_view>
#include <cerrno>
#include <cstdlib>

#include <chrono>
#include <fstream>
#include <thread>

#include "common/digest.h"
#include "config/config_reload.h"
#include "export/collector_client.h"
#include "export/collector_sink.h"
#include "export/json_lines_sink.h"
#include "export/otlp_sink.h"
#include "log.h"
#include "sensors/configs/config_sensor.h"
#include "sensors/env/env_sensor.h"
#include "sensors/files/file_sensor.h"
#include "sensors/mcp/http_server_sensor.h"
#include "sensors/mcp/mcp_sensor.h"
#include "sensors/preload/preload_sensor.h"
#include "sensors/tls/credential_use.h"
#include "sensors/tls/tls_sensor.h"
#include "workload/pod_watch_plan.h"

namespace credtrace {
namespace {

// host_name, else $CREDTRACE_HOST_NAME (a DaemonSet sets it to the node's name: a pod's own host name is its pod's),
// else the kernel's.
std::string host_name(const config::AgentConfig& config) {
  if (!config.host_name.empty()) return config.host_name;
  if (const char* from_env = std::getenv("CREDTRACE_HOST_NAME"); from_env && *from_env) return from_env;
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "unknown";
  return buf;
}

// Derived from the machine id (hashed: the raw id is never exported) so it is stable across restarts.
std::string derive_agent_id(const config::AgentConfig& config, const std::string& host) {
  if (!config.agent_id.empty()) return config.agent_id;
  std::string machine_id;
  std::ifstream in("/etc/machine-id");
  std::getline(in, machine_id);
  return "agt_" + common::sha256_hex("credtrace-agent\x1f" + machine_id + "\x1f" + host).substr(0, 20);
}

// The JSON-lines sink of output.json ("" disables: no sink, no error).
bool open_json_sink(const config::AgentConfig& config, std::unique_ptr<exporter::EventSink>& out, std::string* error) {
  if (config.output.json_path.empty()) return true;
  out = exporter::JsonLinesSink::open(config.output.json_path, error);
  return out != nullptr;
}

// The collector sink of the collector section (url "" disables: no sink, no error).
bool start_collector_sink(const config::AgentConfig& config, const std::string& agent_id,
                          std::unique_ptr<exporter::EventSink>& out, std::string* error) {
  if (config.collector.url.empty()) return true;
  auto options = exporter::collector_sink_options(config, agent_id, error);
  if (!options) return false;
  out = exporter::CollectorSink::start(std::move(*options), error);  // final send at shutdown
  return out != nullptr;
}

// The OTLP sink of the otlp section (endpoint "" disables: no sink, no error).
bool start_otlp_sink(const config::AgentConfig& config, const std::string& agent_id,
                     std::unique_ptr<exporter::EventSink>& out, std::string* error) {
  if (config.otlp.endpoint.empty()) return true;
  auto options = exporter::otlp_options(config, agent_id, CREDTRACE_VERSION, error);
  if (!options) return false;
  auto exporter = otlp::OtlpExporter::start(std::move(*options), error);
  if (!exporter) return false;
  out = std::make_unique<exporter::OtlpSink>(std::move(exporter));
  return true;
}

// Whether the collector settings can start a sink: the token read, the URL accepted, the CA and client certificate
// files readable ("" when they can, else why not).
std::string collector_settings_problem(const config::AgentConfig& config, const std::string& agent_id) {
  if (config.collector.url.empty()) return "";
  std::string error;
  auto options = exporter::collector_sink_options(config, agent_id, &error);
  if (!options || !exporter::CollectorClient::create(options->endpoint, &error)) return error;
  for (const std::string* file : {&config.collector.ca_file, &config.collector.cert_file, &config.collector.key_file})
    if (!file->empty() && ::access(file->c_str(), R_OK) != 0) return "cannot read " + *file;
  return "";
}

// Whether the otlp settings can start a sink: the endpoint accepted, the headers and CA files readable.
std::string otlp_settings_problem(const config::AgentConfig& config) {
  if (config.otlp.endpoint.empty()) return "";
  std::string error;
  if (!exporter::otlp_options(config, "check-config", CREDTRACE_VERSION, &error)) return error;
  return "";
}

}  // namespace

std::string config_files_problem(const config::AgentConfig& config) {
  std::string error;
  if (config.fingerprint.key.empty()) {
    const std::string key_path = config::fleet_key_path(config);
    if (::access(key_path.c_str(), F_OK) != 0 && errno == ENOENT) {
      log::warn("the fleet key file " + key_path + " does not exist: the agent makes a new key there at start (on a "
                "fleet, every node needs the same key: give it the fleet's)");
    } else if (!secrets::Fingerprinter::from_existing_key_file(key_path, &error)) {
      return error;
    }
  }
  if (std::string problem = collector_settings_problem(config, "check-config"); !problem.empty()) return problem;
  return otlp_settings_problem(config);
}

std::unique_ptr<Agent> Agent::create(const config::AgentConfig& config, std::string* error) {
  std::optional<secrets::Fingerprinter> fingerprinter =
      config.fingerprint.key.empty() ? secrets::Fingerprinter::from_key_file(config::fleet_key_path(config), error)
                                     : secrets::Fingerprinter::from_key(config.fingerprint.key, error);
  if (!fingerprinter) return nullptr;
  const std::string agent_id = derive_agent_id(config, host_name(config));
  std::unique_ptr<Agent> agent(new Agent(config, std::move(*fingerprinter), agent_id));
  std::unique_ptr<exporter::EventSink> lines, collector, otlp;
  if (!open_json_sink(config, lines, error) || !start_collector_sink(config, agent_id, collector, error) ||
      !start_otlp_sink(config, agent_id, otlp, error))
    return nullptr;
  if (lines) agent->sink_.add(std::move(lines), "json");
  if (collector) agent->sink_.add(std::move(collector), "collector");
  if (otlp) agent->sink_.add(std::move(otlp), "otlp");
  return agent;
}

Agent::Agent(const config::AgentConfig& config, secrets::Fingerprinter fingerprinter, std::string agent_id)
    : config_(config),
      fingerprinter_(std::move(fingerprinter)),
      events_(host_name(config), std::move(agent_id)),
      started_(std::chrono::steady_clock::now()) {}

Agent::~Agent() = default;

namespace {

// Per-process TLS uprobes hold two file descriptors per link (libbpf's perf event and BPF link): the soft
// RLIMIT_NOFILE is raised (up to the hard limit) to leave room for tls.max_process_links, the links of exited
// processes waiting to be closed (up to 1024, see loader/probes.cpp) and the agent's other descriptors (1024).
void raise_fd_limit(const config::AgentConfig& config) {
  if (config.tls.uprobe_mode != config::TlsUprobeMode::per_process) return;
  struct rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  const rlim_t wanted = 2 * (static_cast<rlim_t>(config.tls.max_process_links) + 1024) + 1024;
  if (limit.rlim_cur >= wanted) return;
  limit.rlim_cur = limit.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, limit.rlim_max);
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur < wanted)
    log::warn("RLIMIT_NOFILE " + std::to_string(limit.rlim_cur) + " is below 2 x (tls.max_process_links + 1024) + 1024: " +
              "per-process TLS uprobes may fail to attach (counted in tls_attach_failures)");
}

}  // namespace

bool Agent::start_probes() {
  raise_fd_limit(config_);
  loader::ProbeOptions options;
  options.ringbuf_bytes = config_.probes.ringbuf_bytes;
  options.wakeup_threshold_bytes = config_.probes.wakeup_threshold_bytes;
  options.max_captures_per_process_per_second = config_.probes.max_captures_per_process_per_second;
  options.max_capture_bytes_per_process_per_second = config_.probes.max_capture_bytes_per_process_per_second;
  options.agent_tgid = static_cast<uint32_t>(getpid());
  options.exec_prefilter = config_.probes.exec_prefilter;
  options.capture_file_opens = config_.secrets.read_files;
  options.list_stdio_at_detection = config_.mcp.tool_calls.enabled;
  options.hold_watched_execs =
      config_.tls.hold_exec_until_attached && config_.tls.uprobe_mode == config::TlsUprobeMode::per_process;
  std::string error;
  probes_ = loader::Probes::start(options, [this](const void* data, size_t size) { on_kernel_record(data, size); },
                                  &error);
  if (!probes_) log::error("cannot start probes: " + error);
  return probes_ != nullptr;
}

// The API server watch of this node's pods, when kubernetes.api_watch (or auto in a pod) says so; the first LIST is
// awaited briefly so the servers found at start get their pod's names.
void Agent::start_pod_watch() {
  workload::PodWatchPlan plan = workload::plan_pod_watch(config_.kubernetes);
  if (!plan.options) {
    log::info("kubernetes pod watch off: " + plan.reason);
    return;
  }
  log::info("kubernetes pod watch: " + plan.options->api_server + ", node " + plan.options->node_name);
  pod_watch_ = std::make_unique<identity::PodWatcher>(std::move(*plan.options), pod_cache_);
  pod_watch_->start();
  if (!pod_watch_->wait_for_first_list(std::chrono::seconds(5)))
    log::warn("kubernetes pod watch: no pod list yet; pod identity falls back to kubelet log dirs and cgroup meanwhile");
}

int Agent::run(const std::atomic<bool>& stop, std::atomic<bool>* reload, std::function<void()> on_reload) {
  if (!start_probes()) return 1;
  tracker_ = std::make_unique<tracking::ProcessTracker>(config_, *probes_, sink_, events_);
  start_pod_watch();
  if (pod_watch_) tracker_->set_pod_cache(&pod_cache_);
  route(*tracker_);
  tracker_->add_observer(&forget_server_sources_);
  mcp_calls_ = std::make_unique<sensors::McpCalls>(sensors::McpCallsDeps{fingerprinter_, events_, sink_, registry_},
                                                   sensors::mcp_calls_options(config_.mcp.tool_calls));
  sensors::SensorContext context{config_,   fingerprinter_, events_,  sink_,       registry_,
                                 *tracker_, *probes_,      *probes_, *mcp_calls_};
  // The sensors: one line each.
  add_sensor(std::make_unique<sensors::EnvSensor>(context));
  // The preload captures TLS in-process only where the uprobes are per process (its libssl gets none); in global mode
  // the uprobes see every process and the preload reports env reads only (no record twice).
  auto tls = std::make_unique<sensors::TlsSensor>(
      context, &inbound_bearers_, [this](uint32_t pid) { return preload_ && preload_->captures_tls(pid); });
  sensors::TlsSensor* tls_sensor = tls.get();
  tls_sensor->set_libssl_maps_held(probes_->holding());
  sensors::PreloadSensorOptions preload;
  preload.tls = config_.tls.uprobe_mode == config::TlsUprobeMode::per_process && config_.preload.enabled;
  preload.drain_kernel = [this] { probes_->poll(0); };
  preload.tls_preloaded = [tls_sensor](uint32_t pid) { tls_sensor->preload_became_active(pid); };
  preload.tls_not_preloaded = [tls_sensor](uint32_t pid) { tls_sensor->attach_without_preload(pid); };
  auto preload_sensor = std::make_unique<sensors::PreloadSensor>(context, *tls, std::move(preload));
  preload_ = preload_sensor.get();
  // Before the TLS sensor: what the preload still holds reaches it before it expires and flushes (poll, exit, stop).
  add_sensor(std::move(preload_sensor));
  add_sensor(std::move(tls));
  if (config_.secrets.read_files) add_sensor(std::make_unique<sensors::FileSensor>(context));
  if (config_.secrets.scan_mcp_configs) add_sensor(std::make_unique<sensors::ConfigSensor>(context));
  if (config_.mcp.tool_calls.enabled) add_sensor(std::make_unique<sensors::McpSensor>(context));
  add_sensor(std::make_unique<sensors::McpHttpServerSensor>(context, inbound_bearers_));

  for (auto& sensor : sensors_) sensor->start();
  tracker_->start();
  if (config_.metrics.enabled) {
    if (std::string err = metrics_.listen(config_.metrics.listen); !err.empty()) log::warn(err);
    else log::info("metrics: http://" + config_.metrics.listen + "/metrics, readiness: /healthz");
  }
  emit_ready();
  for (auto& sensor : sensors_) sensor->on_ready();
  probes_->set_hold_active(probes_->holding());  // from now on the loop continues what the kernel holds
  systemd_.ready(status_line());
  ready_ = true;
  loop(stop, reload, on_reload);
  ready_ = false;
  systemd_.stopping();
  // No process is stopped any more; those held meanwhile (a program past its check) are continued by the drains.
  probes_->set_hold_active(false);
  probes_->poll(0);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  probes_->poll(0);
  for (auto& sensor : sensors_) sensor->stop();
  mcp_calls_->stop(common::boot_clock_ns());
  emit_health();
  routes_ = {};
  preload_ = nullptr;
  sensors_.clear();
  tracker_.reset();
  probes_.reset();  // detaches every probe
  if (pod_watch_) pod_watch_->stop();
  log::info("credtrace-agent stopped; probes detached");
  return 0;
}

void Agent::add_sensor(std::unique_ptr<sensors::Sensor> sensor) {
  route(*sensor);
  tracker_->add_observer(sensor.get());
  sensors_.push_back(std::move(sensor));
}

void Agent::route(kernel::RecordHandler& handler) {
  for (uint32_t kind : handler.record_kinds())
    if (kind < routes_.size()) routes_[kind] = &handler;
}

void Agent::on_kernel_record(const void* data, size_t size) {
  switch (kernel::check_record(data, size)) {
    case kernel::RecordCheck::ok: break;
    case kernel::RecordCheck::too_short: return count_error("short_event");
    case kernel::RecordCheck::unknown_kind: return count_error("unknown_event_type");
  }
  // A kind no sensor claims (its sensor is off: file opens without secrets.read_files) is dropped here.
  const auto* header = static_cast<const ct_event_header*>(data);
  if (kernel::RecordHandler* handler = routes_[header->type]) handler->on_record(data, size);
  // A watched exec, a library map or a candidate's first JSON-RPC message the kernel stopped
  // (tls.hold_exec_until_attached): every observer, the TLS sensor's uprobe attachment included, has run; it goes on,
  // whatever the handling concluded.
  const bool holdable = header->type == CT_EVENT_EXEC || header->type == CT_EVENT_LIB_MAP ||
                        header->type == CT_EVENT_STDIN;
  if (holdable && (header->flags & CT_FLAG_HELD)) {
    probes_->forget_held(header->tgid);  // first: a stop after this SIGCONT lists the process anew
    if (::kill(static_cast<pid_t>(header->tgid), SIGCONT) != 0 && errno != ESRCH) count_error("held_exec_continue");
    ++execs_held_;
  }
}

void Agent::loop(const std::atomic<bool>& stop, std::atomic<bool>* reload, const std::function<void()>& on_reload) {
  auto last_health = std::chrono::steady_clock::now();
  while (!stop.load()) {
    if (reload && reload->exchange(false) && on_reload) {
      systemd_.reloading();
      on_reload();
      systemd_.ready(status_line());
    }
    const auto health_every = std::chrono::seconds(config_.health_interval_seconds);
    if (probes_->poll(static_cast<int>(config_.probes.poll_interval_ms)) < 0) count_error("ringbuf_poll");
    const auto now = std::chrono::steady_clock::now();
    systemd_.watchdog_if_due(now);
    metrics_.serve({[this] {
                      credtrace::v1::AgentHealth health;
                      fill_health(health);
                      return metrics::render_prometheus(health);
                    },
                    [this, &stop] { return ready_ && !stop.load(); }});
    for (auto& sensor : sensors_) sensor->poll(now);
    if (now - last_health >= health_every) {
      tracker_->reconcile_with_proc();
      tracker_->scan_running_processes();  // servers and clients whose exec the prefilter (or a drop) hid
      emit_health();
      systemd_.status(status_line());
      last_health = std::chrono::steady_clock::now();
    }
  }
}

void Agent::emit_ready() {
  auto ready = events_.make("agent_ready");
  auto* detail = ready.mutable_agent_ready();
  detail->set_version(CREDTRACE_VERSION);
  for (const auto& probe : probes_->attached()) detail->add_probes(probe);
  detail->set_tls_hold(probes_->hold_status());
  for (const auto& sensor : sensors_) sensor->describe(*detail);
  const auto& configs = tracker_->config_index();
  detail->set_mcp_servers_running(static_cast<uint32_t>(tracker_->servers_running()));
  detail->set_mcp_config_files(static_cast<uint32_t>(configs.files_loaded()));
  detail->set_mcp_config_servers(static_cast<uint32_t>(configs.entries().size()));
  sink_.write(ready);
  log::info("credtrace-agent ready: " + std::to_string(probes_->attached().size()) + " probes attached, " +
            std::to_string(tracker_->servers_running()) + " MCP servers running, " +
            std::to_string(configs.entries().size()) + " servers in " + std::to_string(configs.files_loaded()) +
            " client configs");
}

std::vector<std::string> Agent::apply_reload(const config::AgentConfig& next, const std::vector<std::string>& keys) {
  const config::AgentConfig before = config_;
  std::set<std::string> changed;
  for (const auto& key : keys)
    if (config::copy_reloadable_key(key, next, config_)) changed.insert(key);
  std::vector<std::string> refused;
  const auto refuse = [&](std::string_view prefix) {
    for (const auto& key : changed)
      if (key.rfind(prefix, 0) == 0) refused.push_back(key);
  };
  if (config_.output.json_path != before.output.json_path && !reopen_json_output(before)) refuse("output.json");
  if (!(config_.collector == before.collector) && !restart_collector(before)) refuse("collector.");
  if (config_.mcp.server_patterns != before.mcp.server_patterns || config_.mcp.client_patterns != before.mcp.client_patterns ||
      config_.mcp.extra_executables != before.mcp.extra_executables)
    tracker_->reload_patterns();
  for (auto& sensor : sensors_) sensor->reload(changed);
  return refused;
}

// output.json changed: events from now on go to the new file (or stdout, or nowhere); one that cannot be opened is
// refused and the old output kept.
bool Agent::reopen_json_output(const config::AgentConfig& before) {
  std::unique_ptr<exporter::EventSink> lines;
  std::string error;
  if (!open_json_sink(config_, lines, &error)) {
    log::error("reload: output.json refused, the running output is kept: " + error);
    config_.output.json_path = before.output.json_path;
    return false;
  }
  sink_.replace("json", std::move(lines));
  return true;
}

void Agent::reopen_json_output_file() {
  if (config_.output.json_path.empty() || config_.output.json_path == "-") return;
  std::unique_ptr<exporter::EventSink> lines;
  std::string error;
  if (!open_json_sink(config_, lines, &error)) {
    log::error("reload: " + error + "; events keep going to the file open before");
    count_error("json_output_reopen");
    return;
  }
  sink_.replace("json", std::move(lines));
}


// collector.* changed: the running sink stops (what it holds goes to the spool, no final send), and one with the new
// settings takes over the spool. Settings that cannot start a sink are refused before anything
// stops, and the running sink is kept. false when refused.
bool Agent::restart_collector(const config::AgentConfig& before) {
  if (std::string problem = collector_settings_problem(config_, events_.agent_id()); !problem.empty()) {
    log::error("reload: collector settings refused, the running collector sink is kept: " + problem);
    config_.collector = before.collector;
    return false;
  }
  // The running sink spools what it holds and stops without its final send: the next one sends the spool at once.
  if (auto* running = dynamic_cast<exporter::CollectorSink*>(sink_.find("collector"))) running->shutdown_for_handover();
  sink_.replace("collector", nullptr);
  std::unique_ptr<exporter::EventSink> collector;
  std::string error;
  if (!start_collector_sink(config_, events_.agent_id(), collector, &error)) {
    log::error("reload: the collector sink did not start (" + error + "); restarting it with the running settings");
    config_.collector = before.collector;
    if (!start_collector_sink(config_, events_.agent_id(), collector, &error)) {
      log::error("reload: no collector sink is running now (" + error + "): events go to the other outputs only; "
                 "fix the settings and reload");
      count_error("collector_sink_restart");
      return false;
    }
    sink_.replace("collector", std::move(collector));
    return false;
  }
  if (collector) sink_.replace("collector", std::move(collector));
  log::info(config_.collector.url.empty() ? "reload: collector sink off" : "reload: collector sink restarted for " + config_.collector.url);
  return true;
}

// systemd's STATUS= line: what `systemctl status` shows.
std::string Agent::status_line() const {
  return std::to_string(tracker_->servers_running()) + " MCP servers watched, " +
         std::to_string(probes_->attached().size()) + " probes, " + std::to_string(probes_->uprobes_attached()) +
         " TLS uprobes";
}

void Agent::emit_health() {
  auto event = events_.make("agent_health");
  fill_health(*event.mutable_agent_health());
  sink_.write(event);
}

void Agent::fill_health(credtrace::v1::AgentHealth& out) {
  auto* health = &out;
  kernel::KernelCounters counters = probes_->read_counters();
  for (uint32_t t = 1; t < CT_EVENT_TYPE_MAX; ++t) {
    (*health->mutable_events())[kernel::event_type_name(t)] = counters.events[t];
    (*health->mutable_truncations())[kernel::event_type_name(t)] = counters.truncations[t];
  }
  for (uint32_t d = 0; d < CT_DROP_REASON_MAX; ++d) (*health->mutable_drops())[kernel::drop_reason_name(d)] = counters.drops[d];
  health->set_execs_filtered(counters.filtered_execs);
  const loader::Probes::RingFill ring = probes_->ring_fill();
  (*health->mutable_sensors())["ring_used_bytes"] = ring.used_bytes;  // reserved by the kernel, not yet consumed
  (*health->mutable_sensors())["ring_size_bytes"] = ring.size_bytes;
  for (const auto& [kind, n] : errors_) (*health->mutable_agent_errors())[kind] = n;
  tracker_->report(*health);
  for (const auto& sensor : sensors_) sensor->report(*health);
  (*health->mutable_sensors())["tls_execs_held"] = execs_held_;  // stopped at exec until attached, then continued
  if (mcp_calls_) mcp_calls_->report(*health);
  sink_.report(*health);  // output_write, collector_batches_sent, _dropped, _send_failures, _spool_bytes, …
  health->set_kube_api_state(pod_watch_ ? identity::state_name(pod_watch_->state()) : "off");
  if (pod_watch_)
    for (const auto& [name, value] : pod_watch_->counters()) (*health->mutable_sensors())[name] = value;
  health->set_uptime_seconds(std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count());
}

}  // namespace credtrace
