// BPF driver tests of the file probes: opens of watched processes, the directory walked for relative paths, the root.
#include "probe_fixture.h"

namespace credtrace::loader {
namespace {

// The open of a watched child that runs `body` (in a fork) and exits at once, as the kernel reported it.
const Captured* open_of_exited_child(ProbesTest* test, Probes& probes, const std::function<void()>& body,
                                     const std::function<const Captured*(const std::function<bool(const Captured&)>&)>& wait_for) {
  (void)test;
  int go[2];
  if (pipe2(go, O_CLOEXEC) != 0) return nullptr;
  pid_t child = fork();
  if (child == 0) {
    char c;
    if (read(go[0], &c, 1) != 1) _exit(1);
    body();
    _exit(0);
  }
  probes.add_to_set(CT_SET_WATCHED, child);
  if (write(go[1], "x", 1) != 1) return nullptr;
  waitpid(child, nullptr, 0);  // gone before its event is looked at: nothing may depend on /proc/PID
  close(go[0]);
  close(go[1]);
  return wait_for([&](const Captured& c) {
    return c.type == CT_EVENT_FILE_OPEN && c.as<ct_file_open_event>().hdr.tgid == static_cast<uint32_t>(child) &&
           std::string(c.as<ct_file_open_event>().path).find("walk-target") != std::string::npos;
  });
}

TEST_F(ProbesTest, RelativeOpenCarriesTheDirectoryAndTheRootOfAProcessThatHasExited) {
  const std::string top = "/tmp/credtrace-bpf-walk-" + std::to_string(getpid());
  const std::string deep = top + "/a/b c";
  // Paths on the heap: a forked child's read-only data may not be paged in when the syscall-entry probe reads it.
  const std::string target = "walk-target.env", target2 = "walk-target-2", target_ns = "walk-target.ns";
  ASSERT_EQ(system(("mkdir -p '" + deep + "'").c_str()), 0);
  auto wait = [this](const std::function<bool(const Captured&)>& pred) { return wait_for(pred); };
  const Captured* cwd_open = open_of_exited_child(this, *probes_, [&] {
    if (chdir(deep.c_str()) == 0) close(open(target.c_str(), O_RDONLY | O_CREAT, 0600));
  }, wait);
  ASSERT_TRUE(cwd_open);
  const auto& e = cwd_open->as<ct_file_open_event>();
  EXPECT_EQ(sensors::walked_directory(e), deep);
  struct stat ns{}, root{};
  ASSERT_EQ(stat("/proc/self/ns/mnt", &ns), 0);
  ASSERT_EQ(stat("/", &root), 0);
  EXPECT_EQ(e.mnt_ns, ns.st_ino);
  auto root_mount = sensors::mount_and_inode(AT_FDCWD, "/");
  ASSERT_TRUE(root_mount);
  EXPECT_EQ(e.root_mnt_id, root_mount->first);
  EXPECT_EQ(e.root_ino, root.st_ino);

  // openat(dirfd, relative): the directory behind the fd, not the cwd.
  const Captured* fd_open = open_of_exited_child(this, *probes_, [&] {
    int dir = open((top + "/a").c_str(), O_PATH | O_DIRECTORY);
    if (chdir("/") == 0 && dir >= 0) close(openat(dir, target2.c_str(), O_RDONLY | O_CREAT, 0600));
  }, wait);
  ASSERT_TRUE(fd_open);
  EXPECT_EQ(sensors::walked_directory(fd_open->as<ct_file_open_event>()), top + "/a");

  // In a mount namespace of its own, below a mount point: the walk crosses the mount, the namespace differs.
  const Captured* ns_open = open_of_exited_child(this, *probes_, [&] {
    if (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return;
    if (mount("tmpfs", deep.c_str(), "tmpfs", 0, "size=64k") != 0 || mkdir((deep + "/in").c_str(), 0700) != 0) return;
    if (chdir((deep + "/in").c_str()) == 0) close(open(target_ns.c_str(), O_RDONLY | O_CREAT, 0600));
  }, wait);
  ASSERT_TRUE(ns_open);
  const auto& n = ns_open->as<ct_file_open_event>();
  EXPECT_EQ(sensors::walked_directory(n), deep + "/in");
  EXPECT_NE(n.mnt_ns, ns.st_ino);
  EXPECT_EQ(n.root_ino, root.st_ino);
  ASSERT_EQ(system(("rm -rf '" + top + "'").c_str()), 0);
}


TEST_F(ProbesTest, UnwatchedOpensAreNotReported) {
  const std::string marker = "/tmp/credtrace-unwatched-" + std::to_string(getpid());
  int fd = open(marker.c_str(), O_RDONLY | O_CREAT, 0600);
  ASSERT_GE(fd, 0);
  close(fd);
  unlink(marker.c_str());
  EXPECT_FALSE(any([&](const Captured& c) {
    return c.type == CT_EVENT_FILE_OPEN && std::string(c.as<ct_file_open_event>().path) == marker;
  }));
}


}  // namespace
}  // namespace credtrace::loader
