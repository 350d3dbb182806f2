// What the tracker learns from /proc: servers and clients already running, descendants forked before their watch,
// processes whose fork event was lost, and exits that were never delivered.
#include <unistd.h>

#include <map>
#include <optional>
#include <vector>

#include "identity/procfs.h"
#include "tracking/proc_records.h"
#include "tracking/process_tracker.h"

namespace credtrace::tracking {

using process::ProcessRecord;
using process::Role;

void ProcessTracker::scan_running_processes() {
  std::map<uint32_t, ProcessRecord> snapshot;
  const auto self = static_cast<uint32_t>(getpid());
  for (int32_t pid : identity::list_pids(config_.proc_root)) {
    if (static_cast<uint32_t>(pid) == self) continue;
    auto record = record_from_proc(static_cast<uint32_t>(pid), config_.proc_root);
    if (!record || record->argv.empty()) continue;  // gone, or a kernel thread (no argv)
    snapshot[record->pid] = std::move(*record);
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
    if (c.verdict != discovery::Verdict::client) continue;
    // A server that also looks like a client (claude mcp serve) stays a server.
    if (const ProcessRecord* known = table_.find(pid); known && (known->role == Role::server || known->role == Role::descendant))
      continue;
    add_client(snapshot[pid]);
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

namespace {

// parent pid -> its children's pids.
using ChildrenIndex = std::map<uint32_t, std::vector<uint32_t>>;

// parent pid -> its children, from every process's status (the fallback where /proc has no children files).
ChildrenIndex children_from_every_status(const std::string& proc_root) {
  ChildrenIndex children;
  for (int32_t pid : identity::list_pids(proc_root)) {
    if (auto status = identity::read_status(pid, proc_root))
      children[static_cast<uint32_t>(status->ppid)].push_back(static_cast<uint32_t>(pid));
  }
  return children;
}

}  // namespace

// Children forked before the watch bit was set are not inherited in the kernel: find them in /proc, read after the
// watch (a child forked meanwhile inherits it). Each process's children from /proc/PID/task/*/children: a few reads
// per server, where every process's status once per server made the start scan O(N^2) (1,000 servers: 30 s). Where
// the kernel has no children files, every status is read, once per call.
void ProcessTracker::watch_descendants_from_proc(uint32_t server_pid) {
  std::optional<ChildrenIndex> every_status;
  auto children_of = [&](uint32_t parent) -> std::vector<uint32_t> {
    if (!every_status) {
      if (auto listed = identity::read_children(static_cast<int32_t>(parent), config_.proc_root))
        return {listed->begin(), listed->end()};
      every_status = children_from_every_status(config_.proc_root);
    }
    auto it = every_status->find(parent);
    return it == every_status->end() ? std::vector<uint32_t>{} : it->second;
  };
  std::vector<uint32_t> frontier = {server_pid};
  while (!frontier.empty()) {
    uint32_t parent = frontier.back();
    frontier.pop_back();
    for (uint32_t child : children_of(parent)) {
      frontier.push_back(child);
      const ProcessRecord* known = table_.find(child);
      if (known && (known->role == Role::descendant || known->role == Role::server)) continue;
      auto record = record_from_proc(child, config_.proc_root);
      if (!record) continue;  // gone since the listing: nothing to watch
      record->ppid = parent;
      attach_descendant(std::move(*record), server_pid);
    }
  }
}

uint32_t ProcessTracker::server_ancestor_in_proc(uint32_t pid) const {
  for (int depth = 0; depth < 64 && pid > 1; ++depth) {
    if (const ProcessRecord* known = table_.find(pid); known && known->server_pid && servers_.count(known->server_pid))
      return known->server_pid;
    auto status = identity::read_status(static_cast<int32_t>(pid), config_.proc_root);
    if (!status || static_cast<uint32_t>(status->ppid) == pid) return 0;
    pid = static_cast<uint32_t>(status->ppid);
  }
  return 0;
}

const ProcessRecord* ProcessTracker::adopt_from_proc(uint32_t pid) {
  auto record = record_from_proc(pid, config_.proc_root);
  if (!record) return nullptr;
  uint32_t server_pid = server_ancestor_in_proc(record->ppid);
  if (!server_pid) return nullptr;
  count_error("descendant_recovered_from_proc");
  attach_descendant(std::move(*record), server_pid);
  return table_.find(pid);
}

// An exit the agent did not see (a ring-buffer drop, a process gone before its watch was set): reported with
// outcome "unknown" and no exit code, signal or duration, and counted.
void ProcessTracker::forget_missed_exit(uint32_t pid) {
  count_error("missed_exit");
  ct_exit_event synthetic{};
  synthetic.hdr.type = CT_EVENT_EXIT;
  synthetic.hdr.tgid = pid;
  synthetic.hdr.flags = kExitNotObserved;
  on_exit(synthetic);
}

void ProcessTracker::reconcile_with_proc() {
  for (uint32_t pid : table_.pids()) {
    ProcessRecord* record = table_.find(pid);
    auto start = identity::read_start_time_ns(static_cast<int32_t>(pid), config_.proc_root);
    bool alive = start && (!record->start_boottime_ns || same_start(*start, record->start_boottime_ns));
    if (!alive) forget_missed_exit(pid);
  }
  std::set<uint32_t> referenced;
  for (uint32_t pid : table_.pids()) referenced.insert(table_.find(pid)->server_pid);
  for (auto it = servers_.begin(); it != servers_.end();) {
    if (referenced.count(it->first)) {
      ++it;
      continue;
    }
    for (auto* observer : observers_) observer->on_server_forgotten(it->first);
    it = servers_.erase(it);
  }
}

}  // namespace credtrace::tracking
