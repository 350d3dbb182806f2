// Pinned roots of watched processes: O_PATH descriptors of /proc/PID/root per (mount namespace, root directory).
#include "sensors/file_roots.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

namespace credtrace::sensors {
namespace {

std::optional<RootKey> key_at(const std::string& ns_path, const std::string& root_path) {
  struct stat ns{};
  struct stat root{};
  if (::stat(ns_path.c_str(), &ns) != 0 || ::stat(root_path.c_str(), &root) != 0) return std::nullopt;
  return RootKey{static_cast<uint32_t>(ns.st_ino), static_cast<uint64_t>(root.st_dev), static_cast<uint64_t>(root.st_ino)};
}

}  // namespace

uint64_t userspace_dev(uint32_t kernel_dev) { return makedev(kernel_dev >> 20, kernel_dev & 0xfffff); }

RootPins::RootPins(std::string proc_root) : proc_root_(std::move(proc_root)), own_(key_at("/proc/self/ns/mnt", "/")) {}

std::optional<RootKey> RootPins::key_of_process(uint32_t pid) const {
  const std::string dir = proc_root_ + "/" + std::to_string(pid);
  return key_at(dir + "/ns/mnt", dir + "/root");
}

RootPins::Pin* RootPins::pin(const RootKey& key, uint32_t pid) {
  if (auto it = pins_.find(key); it != pins_.end()) {
    it->second.users.insert(pid);
    key_by_pid_[pid] = key;
    return &it->second;
  }
  const std::string root = proc_root_ + "/" + std::to_string(pid) + "/root";
  common::UniqueFd fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  struct stat st{};
  // The pid may have been reused since its key was read: the descriptor must be that very directory.
  if (!fd || ::fstat(fd.get(), &st) != 0 || st.st_dev != key.dev || st.st_ino != key.ino) return nullptr;
  Pin& pinned = pins_[key];
  pinned.fd = std::move(fd);
  pinned.users.insert(pid);
  key_by_pid_[pid] = key;
  return &pinned;
}

void RootPins::pin_process(uint32_t pid) {
  std::optional<RootKey> key = key_of_process(pid);
  if (!key || (own_ && *key == *own_)) return;
  pin(*key, pid);
}

void RootPins::release_process(uint32_t pid, Clock::time_point now) {
  auto it = key_by_pid_.find(pid);
  if (it == key_by_pid_.end()) return;
  if (auto pinned = pins_.find(it->second); pinned != pins_.end()) {
    pinned->second.users.erase(pid);
    if (pinned->second.users.empty()) pinned->second.idle_since = now;
  }
  key_by_pid_.erase(it);
}

void RootPins::expire(Clock::time_point now) {
  for (auto it = pins_.begin(); it != pins_.end();) {
    const bool idle = it->second.users.empty() && now - it->second.idle_since >= kIdleGrace;
    it = idle ? pins_.erase(it) : std::next(it);
  }
}

RootAccess RootPins::access(const RootKey& key, uint32_t pid) {
  if (key.mnt_ns == 0) return {RootAccess::Via::live_process, proc_root_ + "/" + std::to_string(pid) + "/root"};  // unnamed
  if (own_ && key == *own_) return {RootAccess::Via::own_root, ""};
  if (auto it = pins_.find(key); it != pins_.end())
    return {RootAccess::Via::pinned, "/proc/self/fd/" + std::to_string(it->second.fd.get())};
  if (std::optional<RootKey> live = key_of_process(pid); live && *live == key) {
    if (Pin* pinned = pin(key, pid)) return {RootAccess::Via::pinned, "/proc/self/fd/" + std::to_string(pinned->fd.get())};
    return {RootAccess::Via::live_process, proc_root_ + "/" + std::to_string(pid) + "/root"};
  }
  return {};
}

}  // namespace credtrace::sensors
