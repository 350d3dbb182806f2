// The agent: event loop over kernel events; discovery of MCP servers, attribution of descendants, env exposure, health.
#include "agent.h"

#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <map>

#include "discovery/exec_prefilter.h"
#include "common/digest.h"
#include "common/paths.h"
#include "common/timestamp.h"
#include "common/wipe_guard.h"
#include "credfiles/credential_file.h"
#include "mcp/client_config.h"
#include "identity/procfs.h"
#include "log.h"
#include "mcp/jsonrpc_initialize.h"
#include "secrets/argv_redact.h"
#include "secrets/fingerprint.h"
#include "sensors/jwt_claims.h"

namespace credtrace {
namespace {

using process::ProcessRecord;
using process::Role;

std::string host_name(const config::AgentConfig& config) {
  if (!config.host_name.empty()) return config.host_name;
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

// A readable name for a process found by protocol only: the script an interpreter runs, else the program. Taken
// from the redacted argv and never from inline code (sh -c, python -c, node -e) or NAME=VALUE words, which can
// hold secrets; anything doubtful falls back to the executable's file name.
std::string program_name(const std::vector<std::string>& argv, const std::string& exe) {
  static const std::set<std::string> interpreters = {"node", "nodejs", "python", "python3", "deno", "bun",
                                                     "sh", "bash", "dash", "zsh", "env", "ruby", "perl"};
  static const std::set<std::string> inline_code_flags = {"-c", "-e", "-lc", "-ic", "--eval", "-p", "--print"};
  for (const auto& arg : secrets::redact_argv(argv)) {
    if (inline_code_flags.count(arg)) break;
    if (arg.empty() || arg[0] == '-') continue;
    if (arg.find_first_of("=;<> \t\n\"'`$|&") != std::string::npos) break;
    std::string base = common::file_name(arg);
    if (base.rfind("python3.", 0) == 0 || interpreters.count(base)) continue;
    return base;
  }
  return common::file_name(exe);
}

std::vector<std::string> split_args(const ct_exec_event& e) {
  size_t len = std::min<size_t>(e.args_len, sizeof(e.args));
  return identity::split_nul(std::string_view(e.args, len));
}

std::string bounded_string(const char* data, size_t max) { return std::string(data, strnlen(data, max)); }

void cleanse(std::vector<std::pair<std::string, std::string>>& env) {
  for (auto& [_, value] : env) OPENSSL_cleanse(value.data(), value.size());
  env.clear();
}

// Start times compared at /proc's clock-tick resolution (USER_HZ = 100): records found in /proc have no finer one.
bool same_start(uint64_t a_boot_ns, uint64_t b_boot_ns) { return a_boot_ns / 10000000 == b_boot_ns / 10000000; }

// Marks a synthetic exit event built for an exit that was not observed (no kernel flag uses this bit).
constexpr uint32_t kExitNotObserved = 1u << 31;

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

// Data events are as long as the data they carry: the fixed fields, then len bytes.
bool holds_data_event(const void* data, size_t size) {
  constexpr size_t kFixed = offsetof(ct_tls_data_event, data);
  if (size < kFixed) return false;
  const auto* e = static_cast<const ct_tls_data_event*>(data);
  return e->len <= sizeof(e->data) && size >= kFixed + e->len;
}

// The owner of a home or project directory, whose configs are read only if that user may read them
// (credfiles::ReadOptions::reader_uid); nullopt when the directory cannot be stat'ed (nothing is watched there).
std::optional<uid_t> directory_owner(const std::string& dir) {
  struct stat st{};
  if (::stat(dir.c_str(), &st) != 0) return std::nullopt;
  return st.st_uid;
}

// Every place an MCP client config may be (existing or not), grouped by the user they are read for: each user's
// client configs (read as that user may), and the configured paths (a directory stands for its project-level
// configs; an administrator chose them: read as the agent).
std::vector<std::pair<std::set<std::string>, std::optional<uid_t>>> mcp_config_candidates(const config::McpConfig& mcp) {
  std::vector<std::pair<std::set<std::string>, std::optional<uid_t>>> groups;
  if (mcp.scan_user_homes) {
    for (const auto& home : mcp::home_directories(mcp.passwd_file)) {
      std::optional<uid_t> owner = directory_owner(home);
      if (!owner) continue;  // no home there: nothing to read
      std::set<std::string> paths;
      for (const auto& location : mcp::user_config_locations(home)) paths.insert(location.path);
      groups.emplace_back(std::move(paths), owner);
    }
  }
  std::set<std::string> configured;
  for (const auto& path : mcp.config_paths) {
    struct stat st{};
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      for (const auto& location : mcp::project_config_locations(path)) configured.insert(location.path);
    } else {
      configured.insert(path);
    }
  }
  groups.emplace_back(std::move(configured), std::nullopt);
  return groups;
}

}  // namespace

std::unique_ptr<Agent> Agent::create(const config::AgentConfig& config, std::string* error) {
  std::unique_ptr<exporter::JsonLinesSink> sink;
  if (!config.output.json_path.empty()) {
    sink = exporter::JsonLinesSink::open(config.output.json_path, error);
    if (!sink) return nullptr;
  }
  std::optional<secrets::Fingerprinter> fingerprinter =
      config.fingerprint.key.empty() ? secrets::Fingerprinter::from_key_file(config::fleet_key_path(config), error)
                                     : secrets::Fingerprinter::from_key(config.fingerprint.key, error);
  if (!fingerprinter) return nullptr;
  std::unique_ptr<Agent> agent(new Agent(config, std::move(sink), std::move(*fingerprinter)));
  if (!config.collector.url.empty()) {
    auto options = exporter::collector_sink_options(config, agent->agent_id_, error);
    if (!options || !(agent->collector_ = exporter::CollectorSink::start(std::move(*options), error))) return nullptr;
  }
  return agent;
}

Agent::Agent(const config::AgentConfig& config, std::unique_ptr<exporter::JsonLinesSink> sink,
             secrets::Fingerprinter fingerprinter)
    : config_(config),
      host_(host_name(config)),
      agent_id_(derive_agent_id(config, host_)),
      sink_(std::move(sink)),
      fingerprinter_(std::move(fingerprinter)),
      env_names_(config.secrets.env_name_patterns, config.secrets.env_name_excludes),
      env_sensor_(env_names_, fingerprinter_),
      config_index_(config.mcp),
      discovery_(config.mcp, config_index_),
      workloads_(host_, config.proc_root),
      use_aggregator_(std::chrono::seconds(config.credential_use.aggregation_window_seconds),
                      config.credential_use.max_open_windows),
      boot_time_unix_ns_(identity::boot_time_unix_ns()),
      started_(std::chrono::steady_clock::now()) {}

int Agent::run(const std::atomic<bool>& stop) {
  loader::ProbeOptions options;
  options.ringbuf_bytes = config_.probes.ringbuf_bytes;
  options.wakeup_threshold_bytes = config_.probes.wakeup_threshold_bytes;
  options.agent_tgid = static_cast<uint32_t>(getpid());
  options.exec_prefilter = config_.probes.exec_prefilter;
  options.capture_file_opens = config_.secrets.read_files;
  std::string error;
  probes_ = loader::Probes::start(options, [this](const void* data, size_t size) { on_kernel_event(data, size); }, &error);
  if (!probes_) {
    log::error("cannot start probes: " + error);
    return 1;
  }
  tls_libraries_ = std::make_unique<sensors::TlsLibraries>(*probes_);
  tls_libraries_->attach_known_locations();
  config_index_.load_initial();
  if (config_.secrets.read_files) {
    auto patterns = credfiles::default_credential_path_patterns();
    for (const auto& glob : config_.secrets.extra_file_patterns) patterns.push_back({glob, "configured", credfiles::Format::text});
    file_reads_ = std::make_unique<sensors::FileReadSensor>(std::move(patterns), config_.proc_root, config_.secrets.max_file_bytes);
  }
  if (config_.secrets.scan_mcp_configs) {
    config_exposures_ = std::make_unique<sensors::ConfigExposureScanner>(config_.secrets.max_file_bytes);
    for (const auto& [paths, reader] : mcp_config_candidates(config_.mcp)) watch_mcp_configs(paths, reader);
  }
  update_exec_prefilter();
  scan_running_processes();

  auto ready = new_event("agent_ready");
  auto* detail = ready.mutable_agent_ready();
  detail->set_version(CREDTRACE_VERSION);
  for (const auto& probe : probes_->attached()) detail->add_probes(probe);
  for (const auto& probe : tls_libraries_->attached()) detail->add_probes("uprobe:" + probe);
  detail->set_mcp_servers_running(static_cast<uint32_t>(servers_.size()));
  detail->set_mcp_config_files(static_cast<uint32_t>(config_index_.files_loaded()));
  detail->set_mcp_config_servers(static_cast<uint32_t>(config_index_.entries().size()));
  emit(ready);
  log::info("credtrace-agent ready: " + std::to_string(probes_->attached().size()) + " probes attached, " +
            std::to_string(servers_.size()) + " MCP servers running, " +
            std::to_string(config_index_.entries().size()) + " servers in " +
            std::to_string(config_index_.files_loaded()) + " client configs");

  auto last_health = std::chrono::steady_clock::now();
  auto last_expiry = last_health;
  const auto health_every = std::chrono::seconds(config_.health_interval_seconds);
  while (!stop.load()) {
    int rc = probes_->poll(static_cast<int>(config_.probes.poll_interval_ms));
    if (rc < 0) count_error("ringbuf_poll");
    if (config_exposures_) emit_config_scans(config_exposures_->changes());
    if (std::chrono::steady_clock::now() - last_expiry >= std::chrono::seconds(1)) {
      emit_credential_uses(credential_uses_.expire(sensors::boot_clock_ns()));  // the ring was just drained
      emit_aggregated(use_aggregator_.expire(sensors::UseAggregator::Clock::now()));
      last_expiry = std::chrono::steady_clock::now();
    }
    if (std::chrono::steady_clock::now() - last_health >= health_every) {
      reconcile_with_proc();
      scan_running_processes();  // servers and clients whose exec the prefilter (or a drop) hid
      emit_health();
      last_health = std::chrono::steady_clock::now();
    }
  }
  probes_->poll(0);
  emit_credential_uses(credential_uses_.expire(UINT64_MAX));  // uses still waiting for their socket: unknown
  emit_aggregated(use_aggregator_.flush());
  emit_health();
  tls_libraries_.reset();
  probes_.reset();  // detaches every probe
  log::info("credtrace-agent stopped; probes detached");
  return 0;
}

void Agent::on_kernel_event(const void* data, size_t size) {
  if (size < sizeof(ct_event_header)) {
    count_error("short_event");
    return;
  }
  const auto* hdr = static_cast<const ct_event_header*>(data);
  switch (hdr->type) {
    case CT_EVENT_EXEC:
      if (size >= sizeof(ct_exec_event)) return on_exec(*static_cast<const ct_exec_event*>(data));
      break;
    case CT_EVENT_EXEC_ENV:
      if (size >= offsetof(ct_exec_env_event, data)) return exec_envs_.on_chunk(*static_cast<const ct_exec_env_event*>(data));
      break;
    case CT_EVENT_FORK:
      if (size >= sizeof(ct_fork_event)) return on_fork(*static_cast<const ct_fork_event*>(data));
      break;
    case CT_EVENT_EXIT:
      if (size >= sizeof(ct_exit_event)) return on_exit(*static_cast<const ct_exit_event*>(data));
      break;
    case CT_EVENT_STDIN:
      if (size >= sizeof(ct_stdin_event)) return on_stdin(*static_cast<const ct_stdin_event*>(data));
      break;
    case CT_EVENT_FILE_OPEN:
      if (size >= sizeof(ct_file_open_event)) return on_file_open(*static_cast<const ct_file_open_event*>(data));
      break;
    case CT_EVENT_TLS_DATA:
      if (holds_data_event(data, size)) return on_tls_data(*static_cast<const ct_tls_data_event*>(data));
      break;
    case CT_EVENT_TLS_SNI:
      if (size >= sizeof(ct_tls_sni_event)) return credential_uses_.on_sni(*static_cast<const ct_tls_sni_event*>(data));
      break;
    case CT_EVENT_SOCK_DATA:
      if (holds_data_event(data, size)) return on_socket_data(*static_cast<const ct_tls_data_event*>(data));
      break;
    case CT_EVENT_CONNECT:
      if (size >= sizeof(ct_connect_event)) return credential_uses_.on_connect(*static_cast<const ct_connect_event*>(data));
      break;
    case CT_EVENT_TLS_FREE:
      if (size >= sizeof(ct_tls_free_event)) return on_tls_free(*static_cast<const ct_tls_free_event*>(data));
      break;
    case CT_EVENT_TLS_NEW:
      if (size >= sizeof(ct_tls_free_event)) {
        credential_uses_.on_new(*static_cast<const ct_tls_free_event*>(data));
        return emit_credential_uses(credential_uses_.take_released());
      }
      break;
    case CT_EVENT_TLS_SOCKET:
      if (size >= sizeof(ct_tls_socket_event))
        return emit_credential_uses(credential_uses_.on_tls_socket(*static_cast<const ct_tls_socket_event*>(data)));
      break;
    default:
      count_error("unknown_event_type");
      return;
  }
  count_error("short_event");
}

// The kernel watches an exec whose name or arguments mention "mcp" at once (CT_FLAG_PROVISIONAL), so a short-lived
// server's first opens and connects are seen; the watch is undone when the exec turns out not to be MCP.
void Agent::on_exec(const ct_exec_event& e) {
  attribute_exec(e);
  exec_envs_.drop(e.hdr.tgid);  // the exec's environment, if not inspected, is wiped now
  const bool provisional = e.hdr.flags & CT_FLAG_PROVISIONAL;
  if (provisional) ++execs_watched_provisionally_;
  if (!provisional && !(e.hdr.flags & CT_FLAG_WATCHED)) return;
  // Watched in the kernel (provisionally, or inherited from such a process) but not part of any server: undone.
  const ProcessRecord* record = table_.find(e.hdr.tgid);
  if (record && (record->role == Role::server || record->role == Role::descendant)) return;
  if (unwatch(e.hdr.tgid, e.start_boottime_ns)) ++provisional_watches_undone_;
}

// Removes the kernel watch of pid unless the pid now belongs to another process (gone or reused since the event).
bool Agent::unwatch(uint32_t pid, uint64_t start_boottime_ns) {
  auto start = identity::read_start_time_ns(static_cast<int32_t>(pid), config_.proc_root);
  if (!start || (start_boottime_ns && !same_start(*start, start_boottime_ns))) return false;
  probes_->remove_from_set(CT_SET_WATCHED, pid);
  return true;
}

void Agent::attribute_exec(const ct_exec_event& e) {
  ProcessRecord record;
  record.pid = e.hdr.tgid;
  record.ppid = e.ppid;
  record.uid = e.uid;
  record.start_boottime_ns = e.start_boottime_ns;
  record.argv = split_args(e);
  record.args_truncated = e.hdr.flags & CT_FLAG_TRUNCATED;
  record.exe = bounded_string(e.filename, sizeof(e.filename));
  record.comm = bounded_string(e.comm, sizeof(e.comm));

  if (ProcessRecord* stale = table_.find(record.pid);
      stale && stale->start_boottime_ns && !same_start(stale->start_boottime_ns, record.start_boottime_ns)) {
    forget_missed_exit(record.pid);  // the pid was reused: its previous process exited unseen
  }
  if (ProcessRecord* existing = table_.find(record.pid)) {
    if (existing->role == Role::server || existing->role == Role::descendant) {
      // Re-exec inside a watched process (a shebang's interpreter, exec in a shell): same workload.
      existing->exe = record.exe;
      if (existing->role == Role::descendant) existing->argv = record.argv;
      report_env(*existing);
      tls_libraries_->attach_for_process(existing->pid, config_.proc_root);
      return;
    }
    if (existing->role == Role::client) {
      existing->argv = record.argv;
      existing->exe = record.exe;
      return;
    }
  }
  const ProcessRecord* parent = table_.find(record.ppid);
  if (parent && parent->server_pid && servers_.count(parent->server_pid)) {
    attach_descendant(std::move(record), parent->server_pid);
    return;
  }
  if (!parent && (e.hdr.flags & CT_FLAG_WATCHED)) {
    // Watched in the kernel but its parent's fork never reached us (a drop): find the server through /proc.
    if (uint32_t server_pid = server_ancestor_in_proc(record.ppid)) {
      attach_descendant(std::move(record), server_pid);
      return;
    }
  }
  discovery::Classification c = discovery_.classify(record.argv, record.exe, {});
  if (c.verdict == discovery::Verdict::server) {
    if (parent) record.client_pid = parent->role == Role::client ? parent->pid : parent->client_pid;
    const ProcessRecord* client = record.client_pid ? table_.find(record.client_pid) : nullptr;
    if (client && c.identity.client.empty()) c.identity.client = program_name(client->argv, client->exe);
    start_server(std::move(record), c.identity);
    return;
  }
  if (c.verdict == discovery::Verdict::client) {
    record.role = Role::client;
    probes_->add_to_set(CT_SET_CLIENT, record.pid);
    table_.upsert(record);
    add_client_project(identity::read_cwd(static_cast<int32_t>(record.pid), config_.proc_root));
    return;
  }
  if (e.hdr.flags & CT_FLAG_CANDIDATE) {
    record.role = Role::candidate;
    if (parent) record.client_pid = parent->role == Role::client ? parent->pid : parent->client_pid;
    table_.upsert(record);
  } else if (ProcessRecord* existing = table_.find(record.pid)) {
    existing->argv = record.argv;  // a candidate that exec'd into something still unclassified
    existing->exe = record.exe;
  }
}

void Agent::on_fork(const ct_fork_event& e) {
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

void Agent::on_exit(const ct_exit_event& e) {
  emit_credential_uses(credential_uses_.forget_process(e.hdr.tgid));  // uses still held: address unknown
  ProcessRecord* record = table_.find(e.hdr.tgid);
  if (!record) return;
  if (record->role == Role::server) {
    auto it = servers_.find(record->pid);
    if (it != servers_.end()) {
      auto event = new_event("mcp_server_exit");
      *event.mutable_process() = it->second.process;
      *event.mutable_workload() = it->second.workload;
      describe_exit(e, record->start_boottime_ns, *event.mutable_mcp_server_exit());
      emit(event);
    }
  }
  if (file_reads_) file_reads_->on_exit(e.hdr.tgid);
  exec_envs_.drop(e.hdr.tgid);
  process_views_.erase(e.hdr.tgid);
  table_.erase(e.hdr.tgid);
}

void Agent::on_stdin(const ct_stdin_event& e) {
  size_t len = std::min<size_t>(e.len, sizeof(e.data));
  auto request = config_.mcp.protocol_detection ? mcp::parse_initialize(std::string_view(e.data, len))
                                                : std::nullopt;
  ProcessRecord* reader = table_.find(e.hdr.tgid);
  if (!request) {
    // The kernel watched it provisionally (JSON-looking first message): not MCP, so undo unless it is watched anyway.
    if (!reader || (reader->role != Role::server && reader->role != Role::descendant))
      probes_->remove_from_set(CT_SET_WATCHED, e.hdr.tgid);
    return;
  }
  if (!reader || (reader->role != Role::candidate)) return;
  // The server is the client's direct child that this reader descends from.
  ProcessRecord* root = reader;
  for (size_t steps = 0; steps < table_.size(); ++steps) {
    ProcessRecord* parent = table_.find(root->ppid);
    if (!parent || parent->role != Role::candidate) break;
    root = parent;
  }
  discovery::McpIdentity identity;
  identity.server_name = program_name(root->argv, root->exe);
  identity.package = identity.server_name;
  identity.discovered_by = "protocol";
  identity.client_info = request->client_name;
  if (const ProcessRecord* client = table_.find(root->ppid); client && client->role == Role::client)
    identity.client = program_name(client->argv, client->exe);
  uint32_t root_pid = root->pid;
  std::vector<uint32_t> members = table_.descendants_of(root_pid);
  start_server(*root, identity);
  for (uint32_t pid : members) {
    if (ProcessRecord* member = table_.find(pid); member && member->role == Role::candidate) {
      probes_->remove_from_set(CT_SET_CANDIDATE, pid);
      attach_descendant(*member, root_pid);
    }
  }
}

ProcessRecord& Agent::start_server(ProcessRecord record, const discovery::McpIdentity& identity) {
  record.role = Role::server;
  record.server_pid = record.pid;
  table_.upsert(record);
  watch(record);
  probes_->remove_from_set(CT_SET_CANDIDATE, record.pid);
  // Short-lived servers: read what /proc can still tell (env, cwd) before the slower identity work (exe hash).
  auto env_secrets = collect_env_secrets(record.pid);
  credtrace::v1::Process process = workloads_.process_of(record);
  ServerState& state = servers_[record.pid];
  state = ServerState{};
  state.identity = identity;
  state.workload = workloads_.workload_of_server(record, identity);
  state.process = process;

  auto event = new_event("mcp_server_start");
  *event.mutable_process() = process;
  *event.mutable_workload() = state.workload;
  event.mutable_mcp_server_start();
  emit(event);
  if (env_secrets) emit_env_exposures(process, state, *env_secrets);
  tls_libraries_->attach_for_process(record.pid, config_.proc_root);
  watch_descendants_from_proc(record.pid);
  return *table_.find(record.pid);
}

// Children forked before the watch bit was set are not inherited in the kernel: find them in /proc.
void Agent::watch_descendants_from_proc(uint32_t server_pid) {
  std::map<uint32_t, std::vector<uint32_t>> children;
  for (int32_t pid : identity::list_pids(config_.proc_root)) {
    if (auto status = identity::read_status(pid, config_.proc_root)) children[status->ppid].push_back(pid);
  }
  std::vector<uint32_t> frontier = {server_pid};
  while (!frontier.empty()) {
    uint32_t parent = frontier.back();
    frontier.pop_back();
    for (uint32_t child : children[parent]) {
      frontier.push_back(child);
      ProcessRecord* known = table_.find(child);
      if (known && (known->role == Role::descendant || known->role == Role::server)) continue;
      auto status = identity::read_status(static_cast<int32_t>(child), config_.proc_root);
      if (!status) continue;  // gone since the listing: nothing to watch (and no uid to report as root by default)
      ProcessRecord record;
      record.pid = child;
      record.ppid = parent;
      record.uid = status->uid;
      record.argv = identity::read_cmdline(static_cast<int32_t>(child), config_.proc_root).value_or(std::vector<std::string>{});
      record.exe = identity::read_exe(static_cast<int32_t>(child), config_.proc_root);
      record.start_boottime_ns = identity::read_start_time_ns(static_cast<int32_t>(child), config_.proc_root).value_or(0);
      attach_descendant(std::move(record), server_pid);
    }
  }
}

uint32_t Agent::server_ancestor_in_proc(uint32_t pid) const {
  for (int depth = 0; depth < 64 && pid > 1; ++depth) {
    if (const ProcessRecord* known = table_.find(pid); known && known->server_pid && servers_.count(known->server_pid))
      return known->server_pid;
    auto status = identity::read_status(static_cast<int32_t>(pid), config_.proc_root);
    if (!status || static_cast<uint32_t>(status->ppid) == pid) return 0;
    pid = static_cast<uint32_t>(status->ppid);
  }
  return 0;
}

// Sets the kernel watch through a pidfd, unless the pid now belongs to another process (reused since the event).
void Agent::watch(const ProcessRecord& record) {
  if (record.start_boottime_ns) {
    auto start = identity::read_start_time_ns(static_cast<int32_t>(record.pid), config_.proc_root);
    if (!start || !same_start(*start, record.start_boottime_ns)) {
      count_error("watch_target_gone");
      return;
    }
  }
  probes_->add_to_set(CT_SET_WATCHED, record.pid);
  if (file_reads_) file_reads_->on_watched(record.pid);  // its files are read in this root, even after it exits
}

const ProcessRecord* Agent::adopt_from_proc(uint32_t pid) {
  auto status = identity::read_status(static_cast<int32_t>(pid), config_.proc_root);
  if (!status) return nullptr;
  uint32_t server_pid = server_ancestor_in_proc(static_cast<uint32_t>(status->ppid));
  if (!server_pid) return nullptr;
  ProcessRecord record;
  record.pid = pid;
  record.ppid = static_cast<uint32_t>(status->ppid);
  record.uid = status->uid;
  record.argv = identity::read_cmdline(static_cast<int32_t>(pid), config_.proc_root).value_or(std::vector<std::string>{});
  record.exe = identity::read_exe(static_cast<int32_t>(pid), config_.proc_root);
  record.start_boottime_ns = identity::read_start_time_ns(static_cast<int32_t>(pid), config_.proc_root).value_or(0);
  count_error("descendant_recovered_from_proc");
  attach_descendant(std::move(record), server_pid);
  return table_.find(pid);
}

void Agent::attach_descendant(ProcessRecord record, uint32_t server_pid) {
  record.role = Role::descendant;
  record.server_pid = server_pid;
  watch(record);
  const ProcessRecord& stored = table_.upsert(record);
  report_env(stored);
  tls_libraries_->attach_for_process(stored.pid, config_.proc_root);
}

// The environment the kernel read at the exec being handled when it is whole (the process may be gone already),
// else /proc/PID/environ, else the partial block the kernel sent (counted: its last variable is left out).
std::optional<std::vector<sensors::EnvSecret>> Agent::collect_env_secrets(uint32_t pid) {
  const ProcessRecord* record = table_.find(pid);
  std::optional<sensors::ExecEnvironments::Env> at_exec = exec_envs_.take(pid, record ? record->start_boottime_ns : 0);
  if (at_exec && at_exec->complete) return inspect_env(at_exec->vars);
  auto env = identity::read_environ(static_cast<int32_t>(pid), config_.proc_root);
  if (env) {
    if (at_exec) cleanse(at_exec->vars);
    return inspect_env(*env);
  }
  if (at_exec) {
    count_error("environ_incomplete_at_exec");
    return inspect_env(at_exec->vars);
  }
  count_error("environ_unreadable");
  return std::nullopt;
}

std::vector<sensors::EnvSecret> Agent::inspect_env(std::vector<std::pair<std::string, std::string>>& env) {
  std::vector<sensors::EnvSecret> found = env_sensor_.inspect(env);
  cleanse(env);
  return found;
}

void Agent::report_env(const ProcessRecord& record) {
  auto server = servers_.find(record.server_pid);
  if (server == servers_.end()) return;
  auto env_secrets = collect_env_secrets(record.pid);
  if (env_secrets) emit_env_exposures(workloads_.process_of(record), server->second, *env_secrets);
}

void Agent::emit_env_exposures(const credtrace::v1::Process& process, ServerState& server,
                               const std::vector<sensors::EnvSecret>& found) {
  for (const auto& secret : found) {
    if (!server.reported_env.insert(secret.name + '\x1f' + secret.fingerprint).second) continue;
    credtrace::v1::Source source;
    source.set_kind("env");
    source.set_name(secret.name);
    server.sources[secret.fingerprint].push_back(source);
    auto event = new_event("secret_exposure");
    *event.mutable_process() = process;
    *event.mutable_workload() = server.workload;
    event.mutable_source()->set_kind("env");
    event.mutable_source()->set_name(secret.name);
    event.mutable_credential()->set_type(secret.type);
    event.mutable_credential()->set_fingerprint(secret.fingerprint);
    event.mutable_credential()->set_preview(secret.preview);
    if (secret.jwt.has_jwt()) *event.mutable_credential()->mutable_jwt() = secret.jwt.jwt();
    event.mutable_secret_exposure()->set_matched_name(secret.matched_name);
    event.mutable_secret_exposure()->set_matched_value(secret.matched_value);
    emit(event);
  }
}

void Agent::on_tls_data(const ct_tls_data_event& e) {
  if (e.direction == CT_TLS_READ) {
    for (auto& issued : credential_uses_.on_read_data(e)) emit_issued_credential(issued);
    return;
  }
  emit_credential_uses(credential_uses_.on_data(e));
}

void Agent::on_tls_free(const ct_tls_free_event& e) {
  for (auto& issued : credential_uses_.on_free(e)) emit_issued_credential(issued);
  emit_credential_uses(credential_uses_.take_released());  // uses whose socket was never seen: address unknown
}

// A server handed the workload a credential (a token endpoint's response): it becomes one of the credential's
// sources, so its later uses name where it came from, and is reported as an exposure of kind http_response.
void Agent::emit_issued_credential(sensors::IssuedCredential& issued) {
  std::string& raw = issued.credential.value;
  common::WipeGuard forget(raw);
  const ProcessRecord* record = table_.find(issued.pid);
  if (!record) record = adopt_from_proc(issued.pid);
  auto server = record ? servers_.find(record->server_pid) : servers_.end();
  if (server == servers_.end()) {
    count_error("issued_credential_unknown_workload");
    return;
  }
  std::string fingerprint = fingerprinter_.fingerprint(raw);
  credtrace::v1::Source source;
  source.set_kind("http_response");
  source.set_name(issued.credential.carrier);
  source.set_path((issued.tls ? "https://" : "http://") + issued.host + issued.path);
  auto& known = server->second.sources[fingerprint];
  const bool seen = std::any_of(known.begin(), known.end(), [&](const credtrace::v1::Source& s) {
    return s.kind() == source.kind() && s.name() == source.name() && s.path() == source.path();
  });
  if (seen) return;  // a token endpoint that hands out the same token again: one source, one report
  if (known.size() >= kMaxSourcesPerCredential) known.erase(known.begin());
  known.push_back(source);
  auto event = new_event("secret_exposure");
  *event.mutable_process() = process_view(*record);
  *event.mutable_workload() = server->second.workload;
  *event.mutable_source() = source;
  event.mutable_credential()->set_type(issued.credential.type);
  event.mutable_credential()->set_fingerprint(fingerprint);
  event.mutable_credential()->set_preview(secrets::redacted_preview(raw, issued.credential.prefix_len));
  credtrace::v1::Credential jwt_holder;
  sensors::fill_jwt_claims(raw, &jwt_holder);
  if (jwt_holder.has_jwt()) *event.mutable_credential()->mutable_jwt() = jwt_holder.jwt();
  event.mutable_secret_exposure()->set_matched_value(true);
  emit(event);
}

void Agent::on_socket_data(const ct_tls_data_event& e) {
  bool stop_capture = false;
  std::vector<sensors::CredentialUse> uses = credential_uses_.on_socket_data(e, &stop_capture);
  if (stop_capture) probes_->stop_socket_capture(e.hdr.tgid, static_cast<uint32_t>(e.ssl));
  emit_credential_uses(std::move(uses));
}

void Agent::emit_credential_uses(std::vector<sensors::CredentialUse> uses) {
  for (auto& use : uses) emit_credential_use(use);
}

void Agent::emit_credential_use(sensors::CredentialUse& use) {
  std::string& raw = use.credential.value;
  common::WipeGuard forget(raw);
  std::string fingerprint = fingerprinter_.fingerprint(raw);
  const ProcessRecord* record = table_.find(use.pid);
  if (!record) record = adopt_from_proc(use.pid);  // its fork event was lost: recover it through /proc
  if (!record) {
    count_error("credential_use_unknown_process");
    return;
  }
  auto server = servers_.find(record->server_pid);
  if (server == servers_.end()) {
    count_error("credential_use_unknown_workload");
    return;
  }
  if (use_aggregator_.count_repeat(server->second.workload.id(), fingerprint, use.host, use.credential.carrier,
                                   sensors::UseAggregator::Clock::now()))
    return;  // a repeat in an open window: counted, reported when the window closes
  std::string preview = secrets::redacted_preview(raw, use.credential.prefix_len);
  credtrace::v1::Credential jwt_holder;
  sensors::fill_jwt_claims(raw, &jwt_holder);
  auto event = new_event("credential_use");
  *event.mutable_process() = process_view(*record);
  *event.mutable_workload() = server->second.workload;
  event.mutable_credential()->set_type(use.credential.type);
  event.mutable_credential()->set_fingerprint(fingerprint);
  event.mutable_credential()->set_preview(preview);
  if (jwt_holder.has_jwt()) *event.mutable_credential()->mutable_jwt() = jwt_holder.jwt();
  if (auto sources = server->second.sources.find(fingerprint); sources != server->second.sources.end())
    for (const auto& source : sources->second) *event.add_sources() = source;
  add_config_sources(fingerprint, event);
  auto* destination = event.mutable_destination();
  destination->set_host(use.host);
  destination->set_sni(use.sni);
  destination->set_ip(use.ip);
  destination->set_port(use.port);
  destination->set_tls(use.tls);
  destination->set_address_source(use.address_source);
  destination->set_host_port(use.host_port);
  destination->set_host_source(use.host_source);
  auto* request = event.mutable_request();
  request->set_protocol(use.protocol);
  request->set_method(use.method);
  request->set_path(use.path);
  request->set_carrier(use.credential.carrier);
  request->set_scheme(use.credential.scheme);
  emit_aggregated(use_aggregator_.add(std::move(event), sensors::UseAggregator::Clock::now()));
}

void Agent::emit_aggregated(std::vector<credtrace::v1::Event> events) {
  for (auto& event : events) {
    *event.mutable_time() = common::now_timestamp();
    emit(event);
  }
}

void Agent::scan_running_processes() {
  std::map<uint32_t, ProcessRecord> snapshot;
  const uint32_t self = static_cast<uint32_t>(getpid());
  for (int32_t pid : identity::list_pids(config_.proc_root)) {
    if (static_cast<uint32_t>(pid) == self) continue;
    auto status = identity::read_status(pid, config_.proc_root);
    auto argv = identity::read_cmdline(pid, config_.proc_root);
    if (!status || !argv || argv->empty()) continue;  // kernel threads have no argv
    ProcessRecord r;
    r.pid = pid;
    r.ppid = status->ppid;
    r.uid = status->uid;
    r.argv = *argv;
    r.exe = identity::read_exe(pid, config_.proc_root);
    r.comm = status->name;
    r.start_boottime_ns = identity::read_start_time_ns(pid, config_.proc_root).value_or(0);
    snapshot[r.pid] = std::move(r);
  }
  std::map<uint32_t, discovery::Classification> verdicts;
  for (const auto& [pid, r] : snapshot) {
    auto c = discovery_.classify(r.argv, r.exe, {});
    if (c.verdict != discovery::Verdict::none) verdicts[pid] = c;
  }
  auto has_server_ancestor = [&](uint32_t pid) {
    for (size_t steps = 0; steps < snapshot.size(); ++steps) {
      auto it = snapshot.find(pid);
      if (it == snapshot.end() || it->second.ppid == pid) return false;
      pid = it->second.ppid;
      auto v = verdicts.find(pid);
      if (v != verdicts.end() && v->second.verdict == discovery::Verdict::server) return true;
    }
    return false;
  };
  for (auto& [pid, c] : verdicts) {
    ProcessRecord r = snapshot[pid];
    if (const ProcessRecord* known = table_.find(pid);
        known && (known->role == Role::server || known->role == Role::descendant))
      continue;  // a server that also looks like a client (claude mcp serve) stays a server
    if (c.verdict == discovery::Verdict::client) {
      r.role = Role::client;
      probes_->add_to_set(CT_SET_CLIENT, pid);
      table_.upsert(r);
      add_client_project(identity::read_cwd(static_cast<int32_t>(pid), config_.proc_root));
    }
  }
  for (auto& [pid, c] : verdicts) {
    if (c.verdict != discovery::Verdict::server || has_server_ancestor(pid) || table_.find(pid)) continue;
    ProcessRecord r = snapshot[pid];
    if (const ProcessRecord* parent = table_.find(r.ppid); parent && parent->role == Role::client) {
      r.client_pid = parent->pid;
      if (c.identity.client.empty()) c.identity.client = program_name(parent->argv, parent->exe);
    }
    start_server(std::move(r), c.identity);
  }
}

void Agent::update_exec_prefilter() {
  const std::set<std::string> reported = discovery::prefilter_executables(config_.mcp, config_index_);
  for (const auto& name : reported) add_exec_prefilter_name(name, false);
  for (const auto& name : discovery::prefilter_wrappers())
    if (!reported.count(name)) add_exec_prefilter_name(name, true);
}

void Agent::add_exec_prefilter_name(const std::string& name, bool wrapper) {
  // A wrapper later named by a client config (command: bash) is upgraded to reported once.
  auto known = exec_prefilter_names_.find(name);
  if ((known != exec_prefilter_names_.end() && (wrapper || !known->second)) || exec_prefilter_rejected_.count(name)) return;
  if (probes_->add_exec_name(name, wrapper)) {
    exec_prefilter_names_[name] = wrapper;
  } else {
    exec_prefilter_rejected_.insert(name);
    count_error("exec_prefilter_name_rejected");  // longer than 31 bytes or the map is full
  }
}

// An exit the agent did not see (a ring-buffer drop, a process gone before its watch was set): reported with
// outcome "unknown" and no exit code, signal or duration, and counted.
void Agent::forget_missed_exit(uint32_t pid) {
  count_error("missed_exit");
  ct_exit_event synthetic{};
  synthetic.hdr.type = CT_EVENT_EXIT;
  synthetic.hdr.tgid = pid;
  synthetic.hdr.flags = kExitNotObserved;
  on_exit(synthetic);
}

// Exits the ring buffer could not deliver (drops) must not leave ghosts: check every record against /proc.
void Agent::reconcile_with_proc() {
  for (uint32_t pid : table_.pids()) {
    ProcessRecord* record = table_.find(pid);
    auto start = identity::read_start_time_ns(static_cast<int32_t>(pid), config_.proc_root);
    bool alive = start && (!record->start_boottime_ns || same_start(*start, record->start_boottime_ns));
    if (!alive) forget_missed_exit(pid);
  }
  std::set<uint32_t> referenced;
  for (uint32_t pid : table_.pids()) referenced.insert(table_.find(pid)->server_pid);
  for (auto it = servers_.begin(); it != servers_.end();) it = referenced.count(it->first) ? std::next(it) : servers_.erase(it);
  if (file_reads_) file_reads_->expire_roots();
}

const credtrace::v1::Process& Agent::process_view(const ProcessRecord& record) {
  auto it = process_views_.find(record.pid);
  // A re-exec changes argv and exe: the view is rebuilt when they no longer match the record.
  if (it != process_views_.end() && it->second.exe() == record.exe &&
      it->second.args_size() == static_cast<int>(record.argv.size()))
    return it->second;
  return process_views_[record.pid] = workloads_.process_of(record);
}

credtrace::v1::Event Agent::new_event(const std::string& type) {
  credtrace::v1::Event event;
  event.set_type(type);
  *event.mutable_time() = common::now_timestamp();
  event.set_host(host_);
  event.set_agent_id(agent_id_);
  return event;
}

void Agent::emit(credtrace::v1::Event& event) {
  if (sink_) sink_->write(event);  // failures are counted by the sink and reported in agent_health
  if (collector_) collector_->write(event);  // queued; batched, spooled and sent on the sink's threads
}

void Agent::emit_health() {
  auto event = new_event("agent_health");
  auto* health = event.mutable_agent_health();
  loader::KernelCounters counters = probes_->read_counters();
  for (uint32_t t = 1; t < CT_EVENT_TYPE_MAX; ++t) {
    (*health->mutable_events())[loader::event_type_name(t)] = counters.events[t];
    (*health->mutable_truncations())[loader::event_type_name(t)] = counters.truncations[t];
  }
  for (uint32_t d = 0; d < CT_DROP_REASON_MAX; ++d) (*health->mutable_drops())[loader::drop_reason_name(d)] = counters.drops[d];
  for (const auto& [kind, n] : agent_errors_) (*health->mutable_agent_errors())[kind] = n;
  (*health->mutable_agent_errors())["mcp_config_parse"] = config_index_.parse_errors();
  if (sink_) (*health->mutable_agent_errors())["output_write"] = sink_->failures();
  health->set_watched_processes(static_cast<uint32_t>(table_.count(Role::server) + table_.count(Role::descendant)));
  health->set_mcp_servers(static_cast<uint32_t>(table_.count(Role::server)));
  health->set_execs_filtered(counters.filtered_execs);
  auto& sensor_counts = *health->mutable_sensors();
  sensor_counts["execs_watched_provisionally"] = execs_watched_provisionally_;
  sensor_counts["provisional_watches_undone"] = provisional_watches_undone_;
  const auto& envs = exec_envs_.stats();
  sensor_counts["exec_environments"] = envs.blocks;
  sensor_counts["exec_environments_used"] = envs.used;
  sensor_counts["exec_environments_truncated"] = envs.truncated;
  sensor_counts["exec_environment_gaps"] = envs.gaps;
  sensor_counts["exec_environments_evicted"] = envs.evicted;
  const auto& tls = credential_uses_.stats();
  sensor_counts["tls_streams"] = tls.streams;
  sensor_counts["http1_requests"] = tls.requests;  // over TLS and plain sockets
  sensor_counts["tls_capture_gaps"] = tls.gaps;
  sensor_counts["tls_unparsed_streams"] = tls.unsupported;
  sensor_counts["h2_connections"] = tls.h2_streams;
  sensor_counts["h2_connections_broken"] = tls.h2_broken;
  sensor_counts["sockets_not_http"] = tls.sockets_not_http;
  sensor_counts["tls_streams_evicted"] = tls.streams_dropped;
  sensor_counts["tls_streams_paired"] = tls.tls_streams_paired;
  sensor_counts["tls_socket_not_connected"] = tls.tls_socket_not_connected;
  sensor_counts["tls_pairing_conflicts"] = tls.tls_pairing_conflicts;
  sensor_counts["destinations_unknown"] = tls.destinations_unknown;
  if (file_reads_) {
    const auto& files = file_reads_->stats();
    sensor_counts["file_opens"] = files.opens;
    sensor_counts["credential_files_matched"] = files.matched;
    sensor_counts["credential_files_read"] = files.scanned;
    sensor_counts["credential_file_repeats"] = files.repeats;
    sensor_counts["credential_files_without_secrets"] = credential_files_without_secrets_;  // read: no event
    sensor_counts["credential_files_absent"] = files.not_found;
    sensor_counts["file_paths_unresolved"] = files.unresolved;
    sensor_counts["credential_file_roots_unavailable"] = files.root_unavailable;
    sensor_counts["credential_files_read_after_exit"] = files.read_after_exit;
    sensor_counts["file_roots_pinned"] = file_reads_->roots_pinned();
    for (const auto& [error, n] : files.errors) (*health->mutable_agent_errors())["credential_file_" + error] = n;
  }
  if (config_exposures_) {
    const auto& configs = config_exposures_->stats();
    sensor_counts["mcp_configs_watched"] = configs.files_watched;
    sensor_counts["mcp_config_scans"] = configs.scans;
    sensor_counts["mcp_config_unchanged"] = configs.unchanged;
    sensor_counts["mcp_config_dirs_absent"] = configs.dirs_absent;  // not installed: waited for, not a failure
    sensor_counts["mcp_config_dirs_appeared"] = configs.dirs_appeared;
    sensor_counts["mcp_config_watch_failures"] = configs.watch_failures;
    sensor_counts["mcp_config_watch_overflows"] = configs.event_overflows;
    for (const auto& [error, n] : configs.errors) (*health->mutable_agent_errors())["mcp_config_" + error] = n;
  }
  sensor_counts["http1_responses"] = tls.responses;
  sensor_counts["tls_read_gaps"] = tls.read_gaps;
  sensor_counts["tls_reads_unparsed"] = tls.reads_unparsed;
  sensor_counts["tls_uprobes_attached"] = probes_->uprobes_attached();
  sensor_counts["tls_attach_failures"] = tls_libraries_ ? tls_libraries_->failures() : 0;
  sensor_counts["credential_use_unaggregated"] = use_aggregator_.unaggregated();
  sensor_counts["credential_use_open_windows"] = use_aggregator_.open_windows();
  if (collector_) collector_->report(sensor_counts);  // collector_batches_sent, _dropped, _send_failures, _spool_bytes, …
  health->set_exec_prefilter_names(static_cast<uint32_t>(exec_prefilter_names_.size()));
  health->set_uptime_seconds(std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count());
  emit(event);
}

void Agent::on_file_open(const ct_file_open_event& e) {
  if (!file_reads_) return;
  const ProcessRecord* record = table_.find(e.hdr.tgid);
  if (!record) record = adopt_from_proc(e.hdr.tgid);
  auto server = record ? servers_.find(record->server_pid) : servers_.end();
  if (server == servers_.end()) return;  // not (or no longer) attributed to a workload: nothing to link it to
  auto read = file_reads_->on_open(e, server->second.workload.id());
  if (read) emit_file_scan(*read, *record, server->second);
}

// One secret_read per credential in a file a watched process opened (the file alone, with its error, when it could not
// be read or parsed); each credential also becomes a source of the workload's later uses. A file read without error
// that holds no credential (a CA bundle, a .env of plain settings) is only counted: it is not news.
void Agent::emit_file_scan(sensors::FileRead& read, const ProcessRecord& record, ServerState& server) {
  credfiles::FileScan& scan = read.scan;
  if (!credfiles::worth_reporting(scan)) {
    ++credential_files_without_secrets_;
    scan.findings.clear();
    return;
  }
  auto base = new_event("secret_read");
  *base.mutable_process() = process_view(record);
  *base.mutable_workload() = server.workload;
  base.mutable_source()->set_kind("file");
  base.mutable_source()->set_path(scan.path);
  auto* detail = base.mutable_secret_read();
  detail->set_format(std::string(credfiles::format_name(scan.format)));
  detail->set_file_kind(scan.kind);
  detail->set_error(std::string(credfiles::file_error_name(scan.error)));
  detail->set_read_delay_ms(read.read_delay_ms);
  detail->set_modified_after_open(read.modified_after_open);
  size_t secrets_found = 0;
  for (const auto& finding : scan.findings) {
    if (!finding.is_secret()) continue;
    ++secrets_found;
    auto exported = credfiles::export_credential(finding, fingerprinter_);
    auto event = base;
    event.mutable_source()->set_key(finding.key);
    event.mutable_secret_read()->set_line(static_cast<uint32_t>(std::max(finding.line, 0)));
    event.mutable_credential()->set_type(exported.type);
    event.mutable_credential()->set_fingerprint(exported.fingerprint);
    event.mutable_credential()->set_preview(exported.preview);
    credtrace::v1::Credential jwt_holder;
    sensors::fill_jwt_claims(finding.value.view(), &jwt_holder);
    if (jwt_holder.has_jwt()) *event.mutable_credential()->mutable_jwt() = jwt_holder.jwt();
    auto& known = server.sources[exported.fingerprint];
    if (known.size() < kMaxSourcesPerCredential) known.push_back(event.source());
    emit(event);
  }
  scan.findings.clear();  // the raw values go with the findings (SecretBytes wipe themselves)
  if (secrets_found == 0) emit(base);  // unreadable or malformed: the failure is the news
}

// An MCP client's working directory: its project-level configs join discovery and the exposure scanner.
void Agent::add_client_project(const std::string& dir) {
  if (dir.empty()) return;
  if (config_index_.add_project_dir(dir)) update_exec_prefilter();
  std::optional<uid_t> owner = directory_owner(dir);
  if (!owner) return;
  std::set<std::string> paths;
  for (const auto& location : mcp::project_config_locations(dir)) paths.insert(location.path);
  watch_mcp_configs(paths, owner);
}

void Agent::watch_mcp_configs(const std::set<std::string>& paths, std::optional<uid_t> reader_uid) {
  if (config_exposures_) emit_config_scans(config_exposures_->watch(paths, reader_uid));
}

void Agent::emit_config_scans(std::vector<credfiles::FileScan> scans) {
  for (auto& scan : scans) {
    for (const auto& finding : scan.findings) emit_config_finding(scan, finding);
    scan.findings.clear();
  }
}

// A hard-coded credential (or a reference where one would be) in an MCP client config: config_exposure. The
// credential's fingerprint is remembered host-wide, so uses of it by any workload list this config as a source.
void Agent::emit_config_finding(const credfiles::FileScan& scan, const credfiles::Finding& finding) {
  auto event = new_event("config_exposure");
  auto* source = event.mutable_source();
  source->set_kind("config");
  source->set_path(scan.path);
  source->set_key(finding.key);
  source->set_name(finding.server);
  auto* detail = event.mutable_config_exposure();
  detail->set_client(std::string(mcp::client_name(scan.client)));
  detail->set_server_name(finding.server);
  detail->set_field(finding.key);
  detail->set_line(static_cast<uint32_t>(std::max(finding.line, 0)));
  if (!finding.is_secret()) {
    detail->set_reference(finding.reference.empty() ? "placeholder" : finding.reference);
    emit(event);
    return;
  }
  auto exported = credfiles::export_credential(finding, fingerprinter_);
  event.mutable_credential()->set_type(exported.type);
  event.mutable_credential()->set_fingerprint(exported.fingerprint);
  event.mutable_credential()->set_preview(exported.preview);
  auto& known = config_sources_[exported.fingerprint];
  const bool seen = std::any_of(known.begin(), known.end(), [&](const credtrace::v1::Source& s) {
    return s.path() == source->path() && s.key() == source->key();
  });
  if (!seen && known.size() < kMaxSourcesPerCredential) known.push_back(*source);
  emit(event);
}

void Agent::add_config_sources(const std::string& fingerprint, credtrace::v1::Event& event) const {
  auto it = config_sources_.find(fingerprint);
  if (it == config_sources_.end()) return;
  for (const auto& source : it->second) *event.add_sources() = source;
}

}  // namespace credtrace
