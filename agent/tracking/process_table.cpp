// The agent's process table: records, role lookups and ancestry walks bounded by the table's size.
#include "tracking/process_table.h"

namespace credtrace::process {

const char* role_name(Role role) {
  switch (role) {
    case Role::client: return "client";
    case Role::candidate: return "candidate";
    case Role::server: return "server";
    case Role::descendant: return "descendant";
    default: return "none";
  }
}

ProcessRecord& ProcessTable::upsert(const ProcessRecord& record) {
  auto& slot = records_[record.pid];
  slot = record;
  return slot;
}

ProcessRecord* ProcessTable::find(uint32_t pid) {
  auto it = records_.find(pid);
  return it == records_.end() ? nullptr : &it->second;
}

const ProcessRecord* ProcessTable::find(uint32_t pid) const {
  auto it = records_.find(pid);
  return it == records_.end() ? nullptr : &it->second;
}

void ProcessTable::erase(uint32_t pid) { records_.erase(pid); }

size_t ProcessTable::count(Role role) const {
  size_t n = 0;
  for (const auto& [_, r] : records_) n += r.role == role;
  return n;
}

ProcessRecord* ProcessTable::nearest_with_role(uint32_t pid, Role role) {
  // Bounded by the table size so a ppid cycle (pid reuse) cannot loop forever.
  for (size_t steps = 0; steps <= records_.size(); ++steps) {
    ProcessRecord* r = find(pid);
    if (!r) return nullptr;
    if (r->role == role) return r;
    if (r->ppid == pid) return nullptr;
    pid = r->ppid;
  }
  return nullptr;
}

std::vector<uint32_t> ProcessTable::descendants_of(uint32_t pid) const {
  std::vector<uint32_t> out;
  for (const auto& [child, r] : records_) {
    uint32_t cursor = r.ppid;
    for (size_t steps = 0; steps <= records_.size() && child != pid; ++steps) {
      if (cursor == pid) {
        out.push_back(child);
        break;
      }
      const ProcessRecord* parent = find(cursor);
      if (!parent || parent->ppid == cursor) break;
      cursor = parent->ppid;
    }
  }
  return out;
}

std::vector<uint32_t> ProcessTable::pids() const {
  std::vector<uint32_t> out;
  out.reserve(records_.size());
  for (const auto& [pid, _] : records_) out.push_back(pid);
  return out;
}

}  // namespace credtrace::process
