// The agent: wires probes, discovery, identity and sensors to the sinks, and runs the event loop.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <vector>
#include <set>
#include <unordered_map>
#include <string>

#include "config/agent_config.h"
#include "discovery/mcp_discovery.h"
#include "events.h"
#include "export/collector_sink.h"
#include "export/json_lines_sink.h"
#include "loader/probes.h"
#include "process/process_table.h"
#include "secrets/env_names.h"
#include "secrets/fingerprint.h"
#include "sensors/config_exposure.h"
#include "sensors/credential_use.h"
#include "sensors/env_exposure.h"
#include "sensors/exec_env.h"
#include "sensors/file_reads.h"
#include "sensors/tls_libraries.h"
#include "sensors/use_aggregator.h"
#include "workload/workload_builder.h"

namespace credtrace {

class Agent {
 public:
  // Everything that can fail before probes attach (output, fleet key) fails here, with a message.
  static std::unique_ptr<Agent> create(const config::AgentConfig& config, std::string* error);
  // Attaches probes, finds running servers, emits agent_ready, then handles events until stop is set.
  int run(const std::atomic<bool>& stop);

 private:
  struct ServerState {
    discovery::McpIdentity identity;
    credtrace::v1::Workload workload;
    credtrace::v1::Process process;  // as seen at start: /proc is gone by exit
    std::set<std::string> reported_env;  // name + fingerprint already exported for this server instance
    std::map<std::string, std::vector<credtrace::v1::Source>> sources;  // fingerprint → where it was seen
  };

  Agent(const config::AgentConfig& config, std::unique_ptr<exporter::JsonLinesSink> sink,
        secrets::Fingerprinter fingerprinter);

  void on_kernel_event(const void* data, size_t size);
  void on_exec(const ct_exec_event& e);
  void attribute_exec(const ct_exec_event& e);
  bool unwatch(uint32_t pid, uint64_t start_boottime_ns);
  void on_fork(const ct_fork_event& e);
  void on_exit(const ct_exit_event& e);
  void on_stdin(const ct_stdin_event& e);
  void on_tls_data(const ct_tls_data_event& e);
  void on_socket_data(const ct_tls_data_event& e);
  void on_tls_free(const ct_tls_free_event& e);
  void on_file_open(const ct_file_open_event& e);
  void emit_file_scan(sensors::FileRead& read, const process::ProcessRecord& record, ServerState& server);
  void watch_mcp_configs(const std::set<std::string>& paths, std::optional<uid_t> reader_uid);
  void add_client_project(const std::string& dir);
  void emit_config_scans(std::vector<credfiles::FileScan> scans);
  void emit_config_finding(const credfiles::FileScan& scan, const credfiles::Finding& finding);
  void add_config_sources(const std::string& fingerprint, credtrace::v1::Event& event) const;
  void emit_credential_use(sensors::CredentialUse& use);
  void emit_credential_uses(std::vector<sensors::CredentialUse> uses);
  void emit_issued_credential(sensors::IssuedCredential& issued);
  static constexpr size_t kMaxSourcesPerCredential = 16;

  void scan_running_processes();
  void update_exec_prefilter();
  void add_exec_prefilter_name(const std::string& name, bool wrapper);
  process::ProcessRecord& start_server(process::ProcessRecord record, const discovery::McpIdentity& identity);
  void watch_descendants_from_proc(uint32_t server_pid);
  void attach_descendant(process::ProcessRecord record, uint32_t server_pid);
  uint32_t server_ancestor_in_proc(uint32_t pid) const;
  const process::ProcessRecord* adopt_from_proc(uint32_t pid);
  void watch(const process::ProcessRecord& record);
  void report_env(const process::ProcessRecord& record);
  std::optional<std::vector<sensors::EnvSecret>> collect_env_secrets(uint32_t pid);
  std::vector<sensors::EnvSecret> inspect_env(std::vector<std::pair<std::string, std::string>>& env);
  void emit_env_exposures(const credtrace::v1::Process& process, ServerState& server,
                          const std::vector<sensors::EnvSecret>& found);
  void reconcile_with_proc();
  void forget_missed_exit(uint32_t pid);

  credtrace::v1::Event new_event(const std::string& type);
  void emit(credtrace::v1::Event& event);
  void emit_health();
  // The exported view of a process, built once per process (cwd, user and redacted argv cost syscalls).
  const credtrace::v1::Process& process_view(const process::ProcessRecord& record);
  void emit_aggregated(std::vector<credtrace::v1::Event> events);
  void count_error(const std::string& kind) { ++agent_errors_[kind]; }

  config::AgentConfig config_;
  std::string host_;
  std::string agent_id_;
  std::unique_ptr<exporter::JsonLinesSink> sink_;
  std::unique_ptr<exporter::CollectorSink> collector_;  // set when collector.url; shut down (final send) with the agent
  secrets::Fingerprinter fingerprinter_;
  secrets::NamePatterns env_names_;
  sensors::EnvExposureSensor env_sensor_;
  discovery::ConfigIndex config_index_;
  discovery::Discovery discovery_;
  workload::WorkloadBuilder workloads_;
  process::ProcessTable table_;
  std::map<uint32_t, ServerState> servers_;
  std::unique_ptr<loader::Probes> probes_;
  std::unique_ptr<sensors::TlsLibraries> tls_libraries_;
  std::unique_ptr<sensors::FileReadSensor> file_reads_;            // set when secrets.read_files
  std::unique_ptr<sensors::ConfigExposureScanner> config_exposures_;  // set when secrets.scan_mcp_configs
  std::map<std::string, std::vector<credtrace::v1::Source>> config_sources_;  // fingerprint → MCP configs holding it
  sensors::CredentialUseSensor credential_uses_;
  sensors::ExecEnvironments exec_envs_;  // environments the kernel read at watched execs, until handled
  sensors::UseAggregator use_aggregator_;
  std::map<std::string, uint64_t> agent_errors_;
  uint64_t credential_files_without_secrets_ = 0;  // credential-path files read without error, holding no credential
  std::unordered_map<uint32_t, credtrace::v1::Process> process_views_;
  std::map<std::string, bool> exec_prefilter_names_;  // name → set only as a wrapper (sh, env, …)
  uint64_t execs_watched_provisionally_ = 0;  // the kernel watched them at exec ("mcp" in name or arguments)
  uint64_t provisional_watches_undone_ = 0;   // ... and they were not MCP servers
  std::set<std::string> exec_prefilter_rejected_;
  uint64_t boot_time_unix_ns_ = 0;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace credtrace
