// Unit tests of pinned roots with real processes: the agent's own root, a child's private mount namespace pinned and
// still readable after the child exited, release after the grace period, and unknown roots reported unavailable.
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "sensors/files/file_roots.h"

namespace credtrace::sensors {
namespace {

RootKey key_of(pid_t pid) {
  struct stat ns{};
  const std::string dir = "/proc/" + std::to_string(pid);
  if (::stat((dir + "/ns/mnt").c_str(), &ns) != 0) return {};
  auto root = mount_and_inode(AT_FDCWD, dir + "/root");
  if (!root) return {};
  return {static_cast<uint32_t>(ns.st_ino), root->first, root->second};
}

// A child in a mount namespace of its own with a tmpfs on `dir` holding `file`; it waits until its pipe closes.
pid_t child_in_own_namespace(const std::string& dir, int* release_fd) {
  int ready[2], release[2];
  if (pipe(ready) != 0 || pipe(release) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    close(ready[0]);
    close(release[1]);
    if (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=64k") != 0)
      _exit(1);
    std::ofstream(dir + "/inside") << "only in the child's namespace\n";
    if (write(ready[1], "r", 1) != 1) _exit(1);
    char c;
    (void)!read(release[0], &c, 1);
    _exit(0);
  }
  close(ready[1]);
  close(release[0]);
  char c;
  if (read(ready[0], &c, 1) != 1) pid = -1;
  close(ready[0]);
  *release_fd = release[1];
  return pid;
}

TEST(RootPins, TheAgentsOwnRootIsReadDirectly) {
  RootPins pins("/proc");
  RootKey own = key_of(getpid());
  ASSERT_NE(own.mnt_ns, 0u);
  pins.pin_process(getpid());
  EXPECT_EQ(pins.pinned(), 0u);
  RootAccess access = pins.access(own, getpid());
  EXPECT_EQ(access.via, RootAccess::Via::own_root);
  EXPECT_EQ(access.path, "");
}

TEST(RootPins, APrivateNamespaceIsPinnedAndOutlivesItsProcess) {
  if (geteuid() != 0) GTEST_SKIP() << "unshare(CLONE_NEWNS) needs root";
  char tmpl[] = "/tmp/credtrace-roots-XXXXXX";
  ASSERT_TRUE(mkdtemp(tmpl));
  const std::string dir = tmpl;
  int release = -1;
  pid_t child = child_in_own_namespace(dir, &release);
  ASSERT_GT(child, 0);
  RootKey key = key_of(child);
  ASSERT_NE(key.mnt_ns, key_of(getpid()).mnt_ns);
  RootPins pins("/proc");
  pins.pin_process(child);
  EXPECT_EQ(pins.pinned(), 1u);
  close(release);
  waitpid(child, nullptr, 0);  // gone: /proc/PID/root no longer exists

  RootAccess access = pins.access(key, child);
  ASSERT_EQ(access.via, RootAccess::Via::pinned);
  std::ifstream inside(access.path + dir + "/inside");  // the child's tmpfs, seen through the pinned root
  std::string line;
  std::getline(inside, line);
  EXPECT_EQ(line, "only in the child's namespace");
  EXPECT_FALSE(std::ifstream(dir + "/inside").good());  // not in the agent's own namespace

  pins.release_process(child, RootPins::Clock::now());
  pins.expire(RootPins::Clock::now());
  EXPECT_EQ(pins.pinned(), 1u);  // kept for events still queued behind the exit
  pins.expire(RootPins::Clock::now() + RootPins::kIdleGrace + std::chrono::seconds(1));
  EXPECT_EQ(pins.pinned(), 0u);
  EXPECT_EQ(pins.access(key, child).via, RootAccess::Via::unavailable);
  rmdir(dir.c_str());
}

TEST(RootPins, ARootNobodyPinnedOfAGoneProcessIsUnavailable) {
  RootPins pins("/proc");
  RootKey elsewhere{4026531000u, 999999u, 2u};
  pid_t child = fork();
  if (child == 0) _exit(0);
  waitpid(child, nullptr, 0);
  EXPECT_EQ(pins.access(elsewhere, child).via, RootAccess::Via::unavailable);
}

}  // namespace
}  // namespace credtrace::sensors
