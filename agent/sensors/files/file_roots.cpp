// Pinned roots of watched processes: O_PATH descriptors of /proc/PID/root per (mount namespace, root directory).
#include "sensors/files/file_roots.h"

#include <fcntl.h>
#include <sys/stat.h>

#ifndef STATX_MNT_ID
#define STATX_MNT_ID 0x00001000U
#endif

namespace credtrace::sensors {
namespace {

std::optional<RootKey> key_at(const std::string& ns_path, const std::string& root_path) {
  struct stat ns{};
  if (::stat(ns_path.c_str(), &ns) != 0) return std::nullopt;
  auto root = mount_and_inode(AT_FDCWD, root_path);
  if (!root) return std::nullopt;
  return RootKey{static_cast<uint32_t>(ns.st_ino), root->first, root->second};
}

}  // namespace

std::optional<std::pair<uint32_t, uint64_t>> mount_and_inode(int dirfd, const std::string& path) {
  struct statx stx{};
  const int flags = path.empty() ? AT_EMPTY_PATH : 0;
  if (::statx(dirfd, path.c_str(), flags, STATX_MNT_ID | STATX_INO, &stx) != 0 || !(stx.stx_mask & STATX_MNT_ID))
    return std::nullopt;
  return std::make_pair(static_cast<uint32_t>(stx.stx_mnt_id), static_cast<uint64_t>(stx.stx_ino));
}

RootPins::RootPins(std::string proc_root) : proc_root_(std::move(proc_root)), own_(key_at("/proc/self/ns/mnt", "/")) {}

std::optional<RootKey> RootPins::key_of_process(uint32_t pid) const {
  const std::string dir = proc_root_ + "/" + std::to_string(pid);
  return key_at(dir + "/ns/mnt", dir + "/root");
}

RootPins::Pin* RootPins::pin(const RootKey& key, uint32_t pid) {
  if (auto it = pins_.find(key); it != pins_.end()) {
    add_user(it->second, key, pid);
    return &it->second;
  }
  const std::string root = proc_root_ + "/" + std::to_string(pid) + "/root";
  common::UniqueFd fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  // The pid may have been reused since its key was read: the descriptor must be that very directory.
  auto opened = fd ? mount_and_inode(fd.get(), "") : std::nullopt;
  if (!opened || opened->first != key.mnt_id || opened->second != key.ino) return nullptr;
  common::UniqueFd ns(::open((proc_root_ + "/" + std::to_string(pid) + "/ns/mnt").c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns) return nullptr;
  Pin& pinned = pins_[key];
  pinned.fd = std::move(fd);
  pinned.namespace_ = std::move(ns);
  add_user(pinned, key, pid);
  return &pinned;
}

void RootPins::pin_process(uint32_t pid) {
  std::optional<RootKey> key = key_of_process(pid);
  if (!key || (own_ && *key == *own_)) return;
  pin(*key, pid);
}

// A process that moved to another root (unshare, chroot) stops using the one it had.
void RootPins::add_user(Pin& pin, const RootKey& key, uint32_t pid) {
  if (auto old = key_by_pid_.find(pid); old != key_by_pid_.end() && old->second != key)
    release_process(pid, Clock::now());
  pin.users.insert(pid);
  key_by_pid_[pid] = key;
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
