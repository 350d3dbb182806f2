// Tests for /proc readers: this process, a spawned /bin/sleep child, and a fake proc root.
#include "identity/procfs.h"
#include "identity/cgroup.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "temp_dir.h"

namespace credtrace::identity {
namespace {

using testing::TempDir;

std::string current_dir() {
  std::error_code ec;
  return std::filesystem::current_path(ec).string();
}

// A /bin/sleep child with a known argv and environment; killed and reaped on destruction.
class SleepChild {
 public:
  SleepChild(std::vector<std::string> argv, std::vector<std::string> env) {
    std::vector<char*> cargv, cenv;
    for (auto& a : argv) cargv.push_back(a.data());
    for (auto& e : env) cenv.push_back(e.data());
    cargv.push_back(nullptr);
    cenv.push_back(nullptr);
    if (::posix_spawn(&pid_, "/bin/sleep", nullptr, nullptr, cargv.data(), cenv.data()) != 0) pid_ = -1;
  }
  ~SleepChild() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  SleepChild(const SleepChild&) = delete;
  SleepChild& operator=(const SleepChild&) = delete;

  pid_t pid() const { return pid_; }

  // posix_spawn returns once the old mm is released, before exec fills in the new mm's
  // arg/env ranges, so cmdline and environ can read empty for a moment: poll until argv shows.
  bool wait_until_exec_done() const {
    for (int i = 0; i < 2000; ++i) {
      auto argv = read_cmdline(pid_);
      if (argv && !argv->empty()) return true;
      ::usleep(1000);
    }
    return false;
  }

 private:
  pid_t pid_ = -1;
};

std::string stat_line(const std::string& comm, const std::string& starttime) {
  // Fields 3..21 then starttime (22), vsize (23), rss (24).
  return "4242 (" + comm + ") S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 " + starttime +
         " 1000000 100\n";
}

TEST(SplitNul, Shapes) {
  using V = std::vector<std::string>;
  EXPECT_EQ(split_nul(std::string_view("a\0bb\0", 5)), (V{"a", "bb"}));
  EXPECT_EQ(split_nul(std::string_view("a\0bb", 4)), (V{"a", "bb"})) << "missing trailing NUL";
  EXPECT_EQ(split_nul(std::string_view("a\0\0b\0", 5)), (V{"a", "", "b"})) << "empty argument kept";
  EXPECT_EQ(split_nul(""), V{});
  EXPECT_EQ(split_nul(std::string_view("\0", 1)), (V{""}));
}

TEST(ProcSelf, Status) {
  auto st = read_status(::getpid());
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->pid, ::getpid());
  EXPECT_EQ(st->tgid, ::getpid());
  EXPECT_EQ(st->ppid, ::getppid());
  EXPECT_EQ(st->uid, ::getuid());
  EXPECT_EQ(st->euid, ::geteuid());
  EXPECT_EQ(st->gid, ::getgid());
  EXPECT_FALSE(st->name.empty());
}

TEST(ProcSelf, CmdlineExeCwdCgroup) {
  auto argv = read_cmdline(::getpid());
  ASSERT_TRUE(argv.has_value());
  ASSERT_FALSE(argv->empty());
  EXPECT_NE(argv->front().find("identity_test"), std::string::npos);
  EXPECT_EQ(read_exe(::getpid()), std::filesystem::canonical("/proc/self/exe").string());
  EXPECT_EQ(read_cwd(::getpid()), current_dir());
  std::string cgroup = read_cgroup_file(::getpid());
  ASSERT_FALSE(cgroup.empty());
  EXPECT_EQ(select_cgroup_path(cgroup).front(), '/') << cgroup;
}

TEST(ProcSelf, EnvironContainsOurVariable) {
  // /proc/PID/environ shows the initial environment, so look for something set at exec time.
  auto env = read_environ(::getpid());
  ASSERT_TRUE(env.has_value());
  const char* path = ::getenv("PATH");
  if (path == nullptr) GTEST_SKIP() << "PATH not set";
  auto it = std::find_if(env->begin(), env->end(), [](const auto& kv) { return kv.first == "PATH"; });
  ASSERT_NE(it, env->end());
  EXPECT_EQ(it->second, path);
}

TEST(ProcSelf, StartTimeIsInThePastAndAfterBoot) {
  auto start = read_start_time_ns(::getpid());
  ASSERT_TRUE(start.has_value());
  timespec boot{};
  ASSERT_EQ(::clock_gettime(CLOCK_BOOTTIME, &boot), 0);
  uint64_t now_since_boot = static_cast<uint64_t>(boot.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(boot.tv_nsec);
  EXPECT_GT(*start, 0u);
  EXPECT_LE(*start, now_since_boot);
  EXPECT_LE(now_since_boot - *start, 600ULL * 1'000'000'000ULL) << "test process started within 10 minutes";
}

TEST(ProcSelf, ListPidsContainsSelfAndIsSorted) {
  auto pids = list_pids();
  EXPECT_TRUE(std::binary_search(pids.begin(), pids.end(), ::getpid()));
  EXPECT_TRUE(std::is_sorted(pids.begin(), pids.end()));
}

TEST(BootTime, AgreesWithProcStatBtime) {
  uint64_t boot = boot_time_unix_ns();
  timespec real{};
  ASSERT_EQ(::clock_gettime(CLOCK_REALTIME, &real), 0);
  EXPECT_LT(boot, static_cast<uint64_t>(real.tv_sec) * 1'000'000'000ULL);
  std::FILE* f = std::fopen("/proc/stat", "r");
  ASSERT_NE(f, nullptr);
  char line[512];
  long long btime = -1;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::sscanf(line, "btime %lld", &btime) == 1) break;
  }
  std::fclose(f);
  ASSERT_GT(btime, 0);
  long long diff = static_cast<long long>(boot / 1'000'000'000ULL) - btime;
  EXPECT_LE(std::llabs(diff), 2);
}

TEST(ProcChild, SpawnedSleepIsReadable) {
  SleepChild child({"/bin/sleep", "5"}, {"CREDTRACE_TEST_TOKEN=hello world", "EQUALS=a=b=c", "EMPTY="});
  ASSERT_GT(child.pid(), 0);
  ASSERT_TRUE(child.wait_until_exec_done());

  auto st = read_status(child.pid());
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->pid, child.pid());
  EXPECT_EQ(st->ppid, ::getpid());
  EXPECT_EQ(st->name, "sleep");
  EXPECT_EQ(st->uid, ::getuid());

  auto argv = read_cmdline(child.pid());
  ASSERT_TRUE(argv.has_value());
  EXPECT_EQ(*argv, (std::vector<std::string>{"/bin/sleep", "5"}));

  auto env = read_environ(child.pid());
  ASSERT_TRUE(env.has_value());
  using Env = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(*env, (Env{{"CREDTRACE_TEST_TOKEN", "hello world"}, {"EQUALS", "a=b=c"}, {"EMPTY", ""}}));

  EXPECT_EQ(read_exe(child.pid()), std::filesystem::canonical("/bin/sleep").string());
  EXPECT_EQ(read_cwd(child.pid()), current_dir());
  EXPECT_EQ(read_cgroup_file(child.pid()), read_cgroup_file(::getpid())) << "children inherit the cgroup";

  auto child_start = read_start_time_ns(child.pid());
  auto self_start = read_start_time_ns(::getpid());
  ASSERT_TRUE(child_start.has_value());
  ASSERT_TRUE(self_start.has_value());
  EXPECT_GE(*child_start, *self_start);

  auto pids = list_pids();
  EXPECT_TRUE(std::binary_search(pids.begin(), pids.end(), child.pid()));
}

TEST(ProcChild, ChildrenListsSpawnedChildrenOfEveryThread) {
  SleepChild first({"/bin/sleep", "5"}, {});
  std::optional<SleepChild> from_thread;  // a child of another thread is listed in that thread's children file
  std::thread([&] { from_thread.emplace(std::vector<std::string>{"/bin/sleep", "5"}, std::vector<std::string>{}); }).join();
  ASSERT_GT(first.pid(), 0);
  ASSERT_GT(from_thread->pid(), 0);
  auto children = read_children(::getpid());
  ASSERT_TRUE(children.has_value()) << "this kernel has CONFIG_PROC_CHILDREN";
  EXPECT_TRUE(std::binary_search(children->begin(), children->end(), first.pid()));
  EXPECT_TRUE(std::binary_search(children->begin(), children->end(), from_thread->pid()))
      << "the spawning thread has exited: its children were reparented to the process, still listed";
  auto none = read_children(first.pid());
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());
}

TEST(ProcChild, GoneProcessGivesEmptyResults) {
  pid_t pid = -1;
  {
    SleepChild child({"/bin/sleep", "5"}, {});
    pid = child.pid();
    ASSERT_GT(pid, 0);
  }
  EXPECT_FALSE(read_status(pid).has_value());
  EXPECT_FALSE(read_cmdline(pid).has_value());
  EXPECT_FALSE(read_environ(pid).has_value());
  EXPECT_FALSE(read_start_time_ns(pid).has_value());
  EXPECT_EQ(read_exe(pid), "");
  EXPECT_EQ(read_cwd(pid), "");
  EXPECT_EQ(read_cgroup_file(pid), "");
  EXPECT_FALSE(read_children(pid).has_value());
}

TEST(FakeProc, StatCommWithParenthesesAndSpaces) {
  TempDir root;
  root.write("4242/stat", stat_line("evil) (name", "12345"));
  auto start = read_start_time_ns(4242, root.path().string());
  ASSERT_TRUE(start.has_value());
  long hz = ::sysconf(_SC_CLK_TCK);
  uint64_t expected = 12345ULL * 1'000'000'000ULL / static_cast<uint64_t>(hz);
  EXPECT_EQ(*start, expected);
}

TEST(FakeProc, StatLargeTickCountDoesNotOverflow) {
  TempDir root;
  root.write("7/stat", stat_line("x", "100000000000"));  // ~31 years at 100 Hz
  auto start = read_start_time_ns(7, root.path().string());
  ASSERT_TRUE(start.has_value());
  long hz = ::sysconf(_SC_CLK_TCK);
  EXPECT_EQ(*start, 100000000000ULL / static_cast<uint64_t>(hz) * 1'000'000'000ULL);
}

TEST(FakeProc, MalformedStat) {
  TempDir root;
  root.write("1/stat", "1 (no close paren S 1 2 3\n");
  root.write("2/stat", "2 (short) S 1 2 3\n");
  root.write("3/stat", stat_line("x", "notanumber"));
  for (int32_t pid : {1, 2, 3}) EXPECT_FALSE(read_start_time_ns(pid, root.path().string()).has_value()) << pid;
}

TEST(FakeProc, StatusAndListing) {
  TempDir root;
  root.write("100/status",
             "Name:\tmy server\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t100\nNgid:\t0\nPid:\t101\nPPid:\t1\n"
             "TracerPid:\t0\nUid:\t1000\t0\t0\t0\nGid:\t1001\t1001\t1001\t1001\n");
  root.write("200/status", "Name:\tbroken\n");
  root.write("self/status", "Pid:\t1\n");
  root.write("sys/x", "");
  auto st = read_status(100, root.path().string());
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->name, "my server");
  EXPECT_EQ(st->tgid, 100);
  EXPECT_EQ(st->pid, 101);
  EXPECT_EQ(st->ppid, 1);
  EXPECT_EQ(st->uid, 1000u);
  EXPECT_EQ(st->euid, 0u);
  EXPECT_EQ(st->gid, 1001u);
  EXPECT_FALSE(read_status(200, root.path().string()).has_value()) << "no Pid line";
  EXPECT_EQ(list_pids(root.path().string()), (std::vector<int32_t>{100, 200}));
  EXPECT_TRUE(list_pids("/nonexistent/proc").empty());
}

TEST(FakeProc, ChildrenFilesOrTheirAbsence) {
  TempDir root;
  root.write("100/task/100/children", "300 200 ");
  root.write("100/task/101/children", "400\n");
  root.write("500/task/500/stat", "");  // a kernel without CONFIG_PROC_CHILDREN: the caller must fall back
  root.write("600/status", "Pid:\t600\n");  // no task directory
  EXPECT_EQ(read_children(100, root.path().string()), (std::vector<int32_t>{200, 300, 400}));
  EXPECT_FALSE(read_children(500, root.path().string()).has_value());
  EXPECT_FALSE(read_children(600, root.path().string()).has_value());
}

TEST(FakeProc, CmdlineAndEnvironCaps) {
  TempDir root;
  std::string big_arg(kMaxCmdlineBytes + 100, 'x');
  root.write("5/cmdline", std::string("prog\0", 5) + big_arg);
  auto argv = read_cmdline(5, root.path().string());
  ASSERT_TRUE(argv.has_value());
  ASSERT_EQ(argv->size(), 2u);
  EXPECT_EQ((*argv)[0], "prog");
  EXPECT_EQ((*argv)[1].size(), kMaxCmdlineBytes - 5) << "truncated at the cap";

  root.write("5/environ", std::string("A=1\0NOEQ\0\0B==2\0", 16));
  auto env = read_environ(5, root.path().string());
  ASSERT_TRUE(env.has_value());
  using Env = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(*env, (Env{{"A", "1"}, {"NOEQ", ""}, {"B", "=2"}}));

  const ProcfsTruncations before = procfs_truncations();
  std::string big_env("FIRST=1", 8);  // with its NUL
  while (big_env.size() < kMaxEnvironBytes - 10) big_env += std::string("PAD=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\0", 42);
  big_env += std::string("CUT=") + std::string(100, 'v') + std::string("\0LAST=2\0", 8);
  root.write("7/environ", big_env);
  auto cut = read_environ(7, root.path().string());
  ASSERT_TRUE(cut.has_value());
  EXPECT_EQ(cut->front(), (std::pair<std::string, std::string>{"FIRST", "1"}));
  EXPECT_NE(cut->back().first, "CUT") << "an entry cut by the cap is left out, not reported with a cut value";
  EXPECT_EQ(cut->back().first, "PAD");
  EXPECT_EQ(procfs_truncations().environ, before.environ + 1);
  EXPECT_GE(before.cmdline, 1u);  // the big cmdline above
  root.write("8/environ", std::string("A=1\0", 4));
  ASSERT_TRUE(read_environ(8, root.path().string()).has_value());
  EXPECT_EQ(procfs_truncations().environ, before.environ + 1) << "a file under the cap is not counted";

  root.write("6/cmdline", "");
  auto empty = read_cmdline(6, root.path().string());
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->empty()) << "kernel threads have an empty cmdline";
}

TEST(FakeProc, ExeDeletedSuffixIsStripped) {
  TempDir root;
  std::filesystem::create_directories(root.path() / "9");
  std::filesystem::create_symlink("/usr/bin/node (deleted)", root.path() / "9/exe");
  std::filesystem::create_symlink("/srv/app", root.path() / "9/cwd");
  EXPECT_EQ(read_exe(9, root.path().string()), "/usr/bin/node");
  EXPECT_EQ(read_cwd(9, root.path().string()), "/srv/app");
}

}  // namespace
}  // namespace credtrace::identity
