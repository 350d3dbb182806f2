// The attribution state machine: execs classified (server, client, candidate, descendant), forks inheriting their
// parent's role, exits reported, first stdin messages deciding candidates, provisional kernel watches undone.
#include "tracking/process_tracker.h"

#include <sys/stat.h>

#include "identity/procfs.h"
#include "mcp/jsonrpc_initialize.h"
#include "discovery/exec_prefilter.h"
#include "tracking/proc_records.h"

namespace credtrace::tracking {

using process::ProcessRecord;
using process::Role;

namespace {

bool in_workload(const ProcessRecord* record) {
  return record && (record->role == Role::server || record->role == Role::descendant);
}

// exit_code/signal/duration from the kernel's exit event; outcome "unknown" (and nothing else) for one not observed.
void describe_exit(const ct_exit_event& e, uint64_t start_boottime_ns, credtrace::v1::McpServerExit& exit) {
  if (e.hdr.flags & kExitNotObserved) {
    exit.set_outcome("unknown");
    return;
  }
  const int32_t signal = static_cast<int32_t>(e.exit_code & 0x7f);
  if (signal) {  // killed: there is no exit code
    exit.set_outcome("killed");
    exit.set_signal(signal);
  } else {
    exit.set_outcome("exited");
    exit.set_exit_code(static_cast<int32_t>((e.exit_code >> 8) & 0xff));
  }
  if (start_boottime_ns && e.hdr.time_boot_ns > start_boottime_ns)
    exit.set_duration_seconds(static_cast<double>(e.hdr.time_boot_ns - start_boottime_ns) / 1e9);
}

}  // namespace

ProcessTracker::ProcessTracker(const config::AgentConfig& config, kernel::WatchControl& kernel,
                               exporter::EventSink& sink, const events::EventFactory& events)
    : config_(config),
      kernel_(kernel),
      sink_(sink),
      events_(events),
      config_index_(config.mcp),
      discovery_(config.mcp, config_index_),
      workloads_(events.host(), config.proc_root, config.kubernetes.log_root) {}

std::vector<uint32_t> ProcessTracker::record_kinds() const {
  return {CT_EVENT_EXEC, CT_EVENT_FORK, CT_EVENT_EXIT, CT_EVENT_STDIN};
}

void ProcessTracker::on_record(const void* data, size_t /*size: checked by kernel::check_record*/) {
  switch (static_cast<const ct_event_header*>(data)->type) {
    case CT_EVENT_EXEC: return on_exec(*static_cast<const ct_exec_event*>(data));
    case CT_EVENT_FORK: return on_fork(*static_cast<const ct_fork_event*>(data));
    case CT_EVENT_EXIT: return on_exit(*static_cast<const ct_exit_event*>(data));
    case CT_EVENT_STDIN: return on_stdin(*static_cast<const ct_stdin_event*>(data));
    default: return;
  }
}

void ProcessTracker::start() {
  config_index_.load_initial();
  update_exec_prefilter();
  scan_running_processes();
}

// The kernel watches an exec whose name or arguments mention "mcp" at once (CT_FLAG_PROVISIONAL), so a short-lived
// server's first opens and connects are seen; the watch is undone when the exec turns out not to be MCP.
void ProcessTracker::on_exec(const ct_exec_event& e) {
  attribute_exec(e);
  for (auto* observer : observers_) observer->on_exec_handled(e.hdr.tgid);
  const bool provisional = e.hdr.flags & CT_FLAG_PROVISIONAL;
  if (provisional) ++execs_watched_provisionally_;
  if (!provisional && !(e.hdr.flags & CT_FLAG_WATCHED)) return;
  // Watched in the kernel (provisionally, or inherited from such a process) but not part of any server: undone.
  if (in_workload(table_.find(e.hdr.tgid))) return;
  if (unwatch(e.hdr.tgid, e.start_boottime_ns)) ++provisional_watches_undone_;
}

// Removes the kernel watch of pid unless the pid now belongs to another process (gone or reused since the event).
bool ProcessTracker::unwatch(uint32_t pid, uint64_t start_boottime_ns) {
  auto start = identity::read_start_time_ns(static_cast<int32_t>(pid), config_.proc_root);
  if (!start || (start_boottime_ns && !same_start(*start, start_boottime_ns))) return false;
  kernel_.remove_from_set(CT_SET_WATCHED, pid);
  return true;
}

void ProcessTracker::attribute_exec(const ct_exec_event& e) {
  ProcessRecord record = record_from_exec(e);
  if (ProcessRecord* stale = table_.find(record.pid);
      stale && stale->start_boottime_ns && !same_start(stale->start_boottime_ns, record.start_boottime_ns)) {
    forget_missed_exit(record.pid);  // the pid was reused: its previous process exited unseen
  }
  if (rejoin_after_exec(record)) return;
  const ProcessRecord* parent = table_.find(record.ppid);
  if (parent && parent->server_pid && servers_.count(parent->server_pid))
    return attach_descendant(std::move(record), parent->server_pid);
  if (!parent && (e.hdr.flags & CT_FLAG_WATCHED)) {
    // Watched in the kernel but its parent's fork never reached us (a drop): find the server through /proc.
    if (uint32_t server_pid = server_ancestor_in_proc(record.ppid))
      return attach_descendant(std::move(record), server_pid);
  }
  classify_exec(std::move(record), e.hdr.flags);
}

// A re-exec inside a known process: a server's or descendant's (a shebang's interpreter, exec in a shell) stays in
// its workload; a client's keeps its role. True when handled.
bool ProcessTracker::rejoin_after_exec(const ProcessRecord& record) {
  ProcessRecord* existing = table_.find(record.pid);
  if (!existing) return false;
  if (in_workload(existing)) {
    existing->exe = record.exe;
    existing->exec_boot_ns = record.exec_boot_ns;
    if (existing->role == Role::descendant) existing->argv = record.argv;
    for (auto* observer : observers_) observer->on_joining(*existing);
    if (auto server = servers_.find(existing->server_pid); server != servers_.end())
      for (auto* observer : observers_) observer->on_attributed(*existing, server->second);
    return true;
  }
  if (existing->role == Role::client) {
    existing->argv = record.argv;
    existing->exe = record.exe;
    return true;
  }
  return false;
}

void ProcessTracker::classify_exec(ProcessRecord record, uint32_t flags) {
  const ProcessRecord* parent = table_.find(record.ppid);
  discovery::Classification c = discovery_.classify(record.argv, record.exe, {});
  if (c.verdict == discovery::Verdict::server) {
    if (parent) record.client_pid = parent->role == Role::client ? parent->pid : parent->client_pid;
    const ProcessRecord* client = record.client_pid ? table_.find(record.client_pid) : nullptr;
    if (client && c.identity.client.empty()) c.identity.client = program_name(client->argv, client->exe);
    return start_server(std::move(record), c.identity);
  }
  if (c.verdict == discovery::Verdict::client) return add_client(std::move(record));
  if (flags & CT_FLAG_CANDIDATE) {
    record.role = Role::candidate;
    if (parent) record.client_pid = parent->role == Role::client ? parent->pid : parent->client_pid;
    table_.upsert(record);
  } else if (ProcessRecord* existing = table_.find(record.pid)) {
    existing->argv = record.argv;  // a candidate that exec'd into something still unclassified
    existing->exe = record.exe;
  }
}

void ProcessTracker::add_client(ProcessRecord record) {
  record.role = Role::client;
  kernel_.add_to_set(CT_SET_CLIENT, record.pid);
  const ProcessRecord& stored = table_.upsert(record);
  add_client_project(identity::read_cwd(static_cast<int32_t>(stored.pid), config_.proc_root));
}

void ProcessTracker::on_fork(const ct_fork_event& e) {
  const ProcessRecord* parent = table_.find(e.parent_tgid);
  if (!parent) {
    // A child of a process the kernel watched provisionally and the agent found not to be MCP (or whose exec was
    // dropped): it inherited the watch in the kernel; unless a server is among its ancestors, the watch goes.
    if ((e.hdr.flags & CT_FLAG_WATCHED) && !server_ancestor_in_proc(e.parent_tgid) &&
        unwatch(e.child_tgid, e.child_start_boottime_ns))
      ++provisional_watches_undone_;
    return;
  }
  ProcessRecord child = *parent;
  child.pid = e.child_tgid;
  child.ppid = e.parent_tgid;
  child.start_boottime_ns = e.child_start_boottime_ns;
  if (parent->role == Role::server) child.role = Role::descendant;
  if (parent->role == Role::client) {
    child.role = Role::candidate;  // the kernel made it one; its exec or first stdin message decides
    child.client_pid = parent->pid;
  }
  table_.upsert(child);
}

void ProcessTracker::on_exit(const ct_exit_event& e) {
  for (auto* observer : observers_) observer->on_exit(e.hdr.tgid);
  ProcessRecord* record = table_.find(e.hdr.tgid);
  if (!record) return;
  if (record->role == Role::server) {
    if (auto it = servers_.find(record->pid); it != servers_.end()) {
      auto event = events_.about("mcp_server_exit", it->second.process, *it->second.workload);
      describe_exit(e, record->start_boottime_ns, *event.mutable_mcp_server_exit());
      sink_.write(event);
    }
  }
  process_views_.erase(e.hdr.tgid);
  table_.erase(e.hdr.tgid);
}

// The pipes the kernel listed at a candidate's first message (bpf/stdio.bpf.c), while still listed for it.
void ProcessTracker::unlist_stdio(const ct_stdin_event& e) {
  for (uint64_t inode : {e.stdin_inode, e.stdout_inode})
    if (inode) kernel_.remove_stdio_file_listed_for(inode, e.hdr.tgid);
}

void ProcessTracker::on_stdin(const ct_stdin_event& e) {
  size_t len = std::min<size_t>(e.len, sizeof(e.data));
  auto request = config_.mcp.protocol_detection ? mcp::parse_initialize(std::string_view(e.data, len))
                                                : std::nullopt;
  ProcessRecord* reader = table_.find(e.hdr.tgid);
  if (!request || !reader || reader->role != Role::candidate) {
    // The kernel watched it provisionally (JSON-looking first message) and listed its pipes: not an MCP server, so
    // undo unless it is watched anyway.
    if (!in_workload(reader)) kernel_.remove_from_set(CT_SET_WATCHED, e.hdr.tgid);
    // A server's own pipes are listed under its pid by the stdio sensor: those stay.
    if (!in_workload(reader) || reader->server_pid != reader->pid) unlist_stdio(e);
    return;
  }
  // The server is the client's direct child that this reader descends from.
  ProcessRecord* root = reader;
  for (size_t steps = 0; steps < table_.size(); ++steps) {
    ProcessRecord* parent = table_.find(root->ppid);
    if (!parent || parent->role != Role::candidate) break;
    root = parent;
  }
  root->stdin_inode = e.stdin_inode;  // the reader's pipes: the server's (a wrapper's child reads what it was given)
  root->stdout_inode = e.stdout_inode;
  // Listed under the reader's pid: the stdio sensor lists the server's own (the same pipes, as a rule) under its pid.
  if (root != reader) unlist_stdio(e);
  discovery::McpIdentity identity;
  identity.server_name = program_name(root->argv, root->exe);
  identity.package = identity.server_name;
  identity.discovered_by = "protocol";
  identity.client_info = request->client_name;
  if (const ProcessRecord* client = table_.find(root->ppid); client && client->role == Role::client)
    identity.client = program_name(client->argv, client->exe);
  const uint32_t root_pid = root->pid;
  std::vector<uint32_t> members = table_.descendants_of(root_pid);
  start_server(*root, identity);
  for (uint32_t pid : members) {
    if (ProcessRecord* member = table_.find(pid); member && member->role == Role::candidate) {
      kernel_.remove_from_set(CT_SET_CANDIDATE, pid);
      attach_descendant(*member, root_pid);
    }
  }
}

void ProcessTracker::start_server(ProcessRecord record, discovery::McpIdentity identity) {
  record.role = Role::server;
  record.server_pid = record.pid;
  const ProcessRecord& stored = table_.upsert(record);
  watch(stored);
  kernel_.remove_from_set(CT_SET_CANDIDATE, stored.pid);
  for (auto* observer : observers_) observer->on_joining(stored);
  if (servers_.count(stored.pid))  // the pid of an earlier server instance: what was kept for it goes
    for (auto* observer : observers_) observer->on_server_forgotten(stored.pid);
  TrackedServer& server = servers_[stored.pid];
  server = TrackedServer{};
  server.pid = stored.pid;
  server.identity = std::move(identity);
  server.process = process_view(stored);
  server.workload = std::make_shared<credtrace::v1::Workload>(workloads_.workload_of_server(stored, server.identity));
  credtrace::v1::McpServerStart start;
  for (auto* observer : observers_) observer->on_server_starting(stored, server, start);
  auto event = events_.about("mcp_server_start", server.process, *server.workload);
  *event.mutable_mcp_server_start() = std::move(start);
  sink_.write(event);
  for (auto* observer : observers_) observer->on_attributed(stored, server);
  watch_descendants_from_proc(stored.pid);
}

void ProcessTracker::attach_descendant(ProcessRecord record, uint32_t server_pid) {
  record.role = Role::descendant;
  record.server_pid = server_pid;
  watch(record);
  const ProcessRecord& stored = table_.upsert(record);
  for (auto* observer : observers_) observer->on_joining(stored);
  if (auto server = servers_.find(server_pid); server != servers_.end())
    for (auto* observer : observers_) observer->on_attributed(stored, server->second);
}

// Sets the kernel watch, unless the pid now belongs to another process (reused since the event).
void ProcessTracker::watch(const ProcessRecord& record) {
  if (record.start_boottime_ns) {
    auto start = identity::read_start_time_ns(static_cast<int32_t>(record.pid), config_.proc_root);
    if (!start || !same_start(*start, record.start_boottime_ns)) {
      count_error("watch_target_gone");
      return;
    }
  }
  kernel_.add_to_set(CT_SET_WATCHED, record.pid);
  for (auto* observer : observers_) observer->on_watch_set(record.pid);
}

credtrace::v1::Workload* ProcessTracker::server_workload(uint32_t server_pid) {
  auto it = servers_.find(server_pid);
  return it == servers_.end() ? nullptr : it->second.workload.get();
}

const TrackedServer* ProcessTracker::server(uint32_t server_pid) const {
  auto it = servers_.find(server_pid);
  return it == servers_.end() ? nullptr : &it->second;
}

Attribution ProcessTracker::attribute(uint32_t pid) {
  Attribution who;
  who.record = table_.find(pid);
  if (!who.record) who.record = adopt_from_proc(pid);  // its fork event was lost: recover it through /proc
  if (!who.record) return who;
  if (auto server = servers_.find(who.record->server_pid); server != servers_.end()) who.server = &server->second;
  return who;
}

const credtrace::v1::Process& ProcessTracker::process_view(const ProcessRecord& record) {
  auto it = process_views_.find(record.pid);
  // A re-exec changes argv and exe: the view is rebuilt when they no longer match the record.
  if (it != process_views_.end() && it->second.exe() == record.exe &&
      it->second.args_size() == static_cast<int>(record.argv.size()))
    return it->second;
  return process_views_[record.pid] = workloads_.process_of(record);
}

// An MCP client's working directory: its project-level configs join discovery (and the observers: exposures).
void ProcessTracker::add_client_project(const std::string& dir) {
  if (dir.empty()) return;
  if (config_index_.add_project_dir(dir)) update_exec_prefilter();
  for (auto* observer : observers_) observer->on_client_project(dir);
}

void ProcessTracker::reload_patterns() {
  discovery_.set_patterns(config_.mcp);
  update_exec_prefilter();
  scan_running_processes();
}

void ProcessTracker::update_exec_prefilter() {
  const std::set<std::string> reported = discovery::prefilter_executables(config_.mcp, config_index_);
  for (const auto& name : reported) add_exec_prefilter_name(name, false);
  for (const auto& name : discovery::prefilter_wrappers())
    if (!reported.count(name)) add_exec_prefilter_name(name, true);
}

void ProcessTracker::add_exec_prefilter_name(const std::string& name, bool wrapper) {
  // A wrapper later named by a client config (command: bash) is upgraded to reported once.
  auto known = exec_prefilter_names_.find(name);
  if ((known != exec_prefilter_names_.end() && (wrapper || !known->second)) || exec_prefilter_rejected_.count(name))
    return;
  if (kernel_.add_exec_name(name, wrapper)) {
    exec_prefilter_names_[name] = wrapper;
  } else {
    exec_prefilter_rejected_.insert(name);
    count_error("exec_prefilter_name_rejected");  // longer than 31 bytes or the map is full
  }
}

void ProcessTracker::report(credtrace::v1::AgentHealth& health) const {
  health.set_watched_processes(static_cast<uint32_t>(table_.count(Role::server) + table_.count(Role::descendant)));
  health.set_mcp_servers(static_cast<uint32_t>(table_.count(Role::server)));
  health.set_exec_prefilter_names(static_cast<uint32_t>(exec_prefilter_names_.size()));
  auto& sensors = *health.mutable_sensors();
  sensors["execs_watched_provisionally"] = execs_watched_provisionally_;
  sensors["provisional_watches_undone"] = provisional_watches_undone_;
  auto& errors = *health.mutable_agent_errors();
  for (const auto& [kind, n] : errors_) errors[kind] = n;
  errors["mcp_config_parse"] = config_index_.parse_errors();
}

}  // namespace credtrace::tracking
