// Root directories of watched processes, pinned (O_PATH) per mount namespace and root, so a file a process opened is
// read in the root it saw even after the process has exited.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "common/unique_fd.h"

namespace credtrace::sensors {

// A root as the kernel names it: the mount namespace, the mount id of the root directory (statx STATX_MNT_ID: the
// same number on both sides, unlike device numbers on btrfs subvolumes) and its inode.
struct RootKey {
  uint32_t mnt_ns = 0;
  uint32_t mnt_id = 0;
  uint64_t ino = 0;
  auto operator<=>(const RootKey&) const = default;
};

// The mount id and inode of a path (or, with an empty path, of the descriptor dirfd); nullopt on failure.
std::optional<std::pair<uint32_t, uint64_t>> mount_and_inode(int dirfd, const std::string& path);

// Where to read a file opened in a root.
struct RootAccess {
  enum class Via { own_root, pinned, live_process, unavailable } via = Via::unavailable;
  std::string path;  // ReadOptions::root: "" for the agent's own root
};

class RootPins {
 public:
  using Clock = std::chrono::steady_clock;
  // A pin nobody uses is kept this long, for open events still queued behind the last user's exit.
  static constexpr std::chrono::seconds kIdleGrace{30};

  explicit RootPins(std::string proc_root);

  // Pins the root of a live watched process (nothing when it is the agent's own root or already pinned).
  void pin_process(uint32_t pid);
  // The process exited: its pin, once unused and idle for kIdleGrace, is released by expire().
  void release_process(uint32_t pid, Clock::time_point now);
  void expire(Clock::time_point now);
  // The agent's own root, a pinned root, or the live process's /proc root (pinned on the way); unavailable when the
  // process is gone and nothing pinned its root.
  RootAccess access(const RootKey& key, uint32_t pid);
  size_t pinned() const { return pins_.size(); }

 private:
  struct Pin {
    common::UniqueFd fd;         // the root directory: where paths are resolved
    common::UniqueFd namespace_;  // the mount namespace: keeps its mounts attached after its last process exits
    std::set<uint32_t> users;
    Clock::time_point idle_since;
  };
  std::optional<RootKey> key_of_process(uint32_t pid) const;
  Pin* pin(const RootKey& key, uint32_t pid);
  void add_user(Pin& pin, const RootKey& key, uint32_t pid);

  std::string proc_root_;
  std::optional<RootKey> own_;
  std::map<RootKey, Pin> pins_;
  std::map<uint32_t, RootKey> key_by_pid_;
};

}  // namespace credtrace::sensors
