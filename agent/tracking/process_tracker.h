// Process and MCP-server tracking: the exec/fork/exit/stdin state machine, recovery from /proc, discovery verdicts
// and the kernel watch of every server and descendant. Talks to the kernel only through kernel::WatchControl.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/agent_config.h"
#include "discovery/mcp_discovery.h"
#include "events.h"
#include "events/event_factory.h"
#include "export/event_sink.h"
#include "kernel/kernel_control.h"
#include "tracking/process_observer.h"
#include "tracking/process_table.h"
#include "workload/workload_builder.h"

namespace credtrace::tracking {

class ProcessTracker final : public kernel::RecordHandler {
 public:
  ProcessTracker(const config::AgentConfig& config, kernel::WatchControl& kernel, exporter::EventSink& sink,
                 const events::EventFactory& events);

  void add_observer(ProcessObserver* observer) { observers_.push_back(observer); }
  // Pod names, labels and owners from the API server watch (null: kubelet log dirs and cgroup only).
  void set_pod_cache(const identity::PodCache* cache) { workloads_.set_pod_cache(cache); }

  // exec, fork, exit and the first stdin message of candidates.
  std::vector<uint32_t> record_kinds() const override;
  void on_record(const void* data, size_t size) override;

  // Loads the client configs and fills the exec prefilter; then finds what already runs.
  void start();
  // Servers and clients already running (at start, and each health interval: those the prefilter or a drop hid).
  void scan_running_processes();
  // A reload changed mcp patterns or extra executables (in the config this tracker reads): new patterns classify from
  // now on, new names join the kernel prefilter (a removed name stays in it until a restart: more execs reported,
  // none missed), and running processes are matched against the new patterns at once.
  void reload_patterns();
  // Exits the ring buffer could not deliver (drops) must not leave ghosts: every record is checked against /proc.
  void reconcile_with_proc();

  // The process and server a pid belongs to; a process whose fork event was lost is recovered through /proc.
  Attribution attribute(uint32_t pid);
  // The workload of a running server, to update what later events carry (its TLS coverage); null when unknown.
  credtrace::v1::Workload* server_workload(uint32_t server_pid);
  // A running server (until observers are told it is forgotten); null when unknown.
  const TrackedServer* server(uint32_t server_pid) const;
  // The exported view of a process, built once per process (cwd, user and redacted argv cost syscalls).
  const credtrace::v1::Process& process_view(const process::ProcessRecord& record);

  const discovery::ConfigIndex& config_index() const { return config_index_; }
  size_t servers_running() const { return servers_.size(); }
  // watched processes, servers, prefilter names, provisional watches, and this module's errors.
  void report(credtrace::v1::AgentHealth& health) const;

  // The handlers of each record kind (public for tests that drive the state machine with synthetic records).
  void on_exec(const ct_exec_event& e);
  void on_fork(const ct_fork_event& e);
  void on_exit(const ct_exit_event& e);
  void on_stdin(const ct_stdin_event& e);
  const process::ProcessTable& table() const { return table_; }

 private:
  void attribute_exec(const ct_exec_event& e);
  void unlist_stdio(const ct_stdin_event& e);
  bool rejoin_after_exec(const process::ProcessRecord& record);
  void classify_exec(process::ProcessRecord record, uint32_t flags);
  bool unwatch(uint32_t pid, uint64_t start_boottime_ns);
  void watch(const process::ProcessRecord& record);
  void start_server(process::ProcessRecord record, discovery::McpIdentity identity);
  void attach_descendant(process::ProcessRecord record, uint32_t server_pid);
  void add_client(process::ProcessRecord record);
  void add_client_project(const std::string& dir);
  void update_exec_prefilter();
  void add_exec_prefilter_name(const std::string& name, bool wrapper);

  // /proc recovery (proc_recovery.cpp).
  void watch_descendants_from_proc(uint32_t server_pid);
  uint32_t server_ancestor_in_proc(uint32_t pid) const;
  const process::ProcessRecord* adopt_from_proc(uint32_t pid);
  void forget_missed_exit(uint32_t pid);
  void count_error(const std::string& kind) { ++errors_[kind]; }

  const config::AgentConfig& config_;
  kernel::WatchControl& kernel_;
  exporter::EventSink& sink_;
  const events::EventFactory& events_;
  discovery::ConfigIndex config_index_;
  discovery::Discovery discovery_;
  workload::WorkloadBuilder workloads_;
  process::ProcessTable table_;
  std::map<uint32_t, TrackedServer> servers_;
  std::unordered_map<uint32_t, credtrace::v1::Process> process_views_;
  std::vector<ProcessObserver*> observers_;
  std::map<std::string, bool> exec_prefilter_names_;  // name → set only as a wrapper (sh, env, …)
  std::set<std::string> exec_prefilter_rejected_;
  uint64_t execs_watched_provisionally_ = 0;  // the kernel watched them at exec ("mcp" in name or arguments)
  uint64_t provisional_watches_undone_ = 0;   // ... and they were not MCP servers
  std::map<std::string, uint64_t> errors_;
};

}  // namespace credtrace::tracking
