// The pinned ledger of processes the kernel stopped for the agent: continued at the agent's stop and at the next start.
#include "loader/held_processes.h"

#include <bpf/bpf.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "identity/procfs.h"
#include "tracking/proc_records.h"

namespace credtrace::loader {

size_t continue_held(int ledger_fd, const std::string& proc_root) {
  std::vector<uint32_t> tgids;
  uint32_t key = 0, next = 0;
  const void* previous = nullptr;
  while (bpf_map_get_next_key(ledger_fd, previous, &next) == 0 && tgids.size() < 65536) {
    tgids.push_back(next);
    key = next;
    previous = &key;
  }
  size_t continued = 0;
  for (uint32_t tgid : tgids) {
    uint64_t start = 0;
    if (bpf_map_lookup_elem(ledger_fd, &tgid, &start) != 0) continue;
    bpf_map_delete_elem(ledger_fd, &tgid);  // before the SIGCONT: a later stop of the same process lists it anew
    const auto proc_start = identity::read_start_time_ns(static_cast<int32_t>(tgid), proc_root);
    if (!proc_start || !tracking::same_start(*proc_start, start)) continue;  // gone, or the pid reused
    if (::kill(static_cast<pid_t>(tgid), SIGCONT) == 0) ++continued;
  }
  return continued;
}

size_t continue_pinned_ledger(const std::string& path, std::string* error, const std::string& proc_root) {
  if (::access(path.c_str(), F_OK) != 0) return 0;
  const int fd = bpf_obj_get(path.c_str());
  size_t continued = 0;
  bpf_map_info info{};
  uint32_t info_len = sizeof(info);
  if (fd < 0) {
    *error = "cannot open the held-process ledger " + path + ": " + std::strerror(errno);
  } else if (bpf_obj_get_info_by_fd(fd, &info, &info_len) != 0 || info.type != BPF_MAP_TYPE_HASH ||
             info.key_size != sizeof(uint32_t) || info.value_size != sizeof(uint64_t)) {
    *error = "the held-process ledger " + path + " is not this agent's kind of map: removed, nothing continued";
  } else {
    continued = continue_held(fd, proc_root);
  }
  if (fd >= 0) ::close(fd);
  ::unlink(path.c_str());
  return continued;
}

}  // namespace credtrace::loader
