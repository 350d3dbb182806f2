// BPF driver tests: the real probes, loaded into this kernel, see real exec/fork/exit/open/read syscalls.
#include <fcntl.h>
#include <sys/stat.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "events.h"
#include "loader/probes.h"

namespace credtrace::loader {
namespace {

struct Captured {
  uint32_t type;
  std::vector<char> bytes;
  template <typename T>
  const T& as() const { return *reinterpret_cast<const T*>(bytes.data()); }
};

class ProbesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (CAP_BPF, CAP_PERFMON)";
    std::string error;
    ProbeOptions options;
    options.ringbuf_bytes = 1u << 20;
    options.capture_file_opens = true;
    probes_ = Probes::start(options, [this](const void* data, size_t size) {
      const auto* hdr = static_cast<const ct_event_header*>(data);
      events_.push_back({hdr->type, std::vector<char>(static_cast<const char*>(data), static_cast<const char*>(data) + size)});
    }, &error);
    ASSERT_TRUE(probes_) << error;
  }

  // Polls until pred matches a captured event or 5 s pass.
  const Captured* wait_for(const std::function<bool(const Captured&)>& pred) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    size_t seen = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      probes_->poll(20);
      for (; seen < events_.size(); ++seen)
        if (pred(events_[seen])) return &events_[seen];
    }
    return nullptr;
  }

  bool any(const std::function<bool(const Captured&)>& pred) {
    for (int i = 0; i < 5; ++i) probes_->poll(20);
    for (const auto& e : events_) if (pred(e)) return true;
    return false;
  }

  void TearDown() override {
    std::string cmd = "rm -rf /tmp/credtrace-bpf-tools-" + std::to_string(getpid());
    if (system(cmd.c_str()) != 0) ADD_FAILURE() << "cannot remove test tools";
  }

  std::unique_ptr<Probes> probes_;
  std::vector<Captured> events_;
};

pid_t spawn(const std::vector<std::string>& argv, int stdin_fd = -1) {
  pid_t pid = fork();
  if (pid == 0) {
    if (stdin_fd >= 0) dup2(stdin_fd, 0);
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) dup2(devnull, 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

TEST_F(ProbesTest, EveryProbeAttaches) {
  EXPECT_EQ(probes_->attached().size(), 13u);
  EXPECT_FALSE(probes_->add_exec_name(std::string(32, 'x')));  // keys hold 31 bytes
}

// A copy of /bin/true under a chosen file name, so the exec prefilter sees that name.
std::string tool_named(const std::string& name) {
  std::string dir = "/tmp/credtrace-bpf-tools-" + std::to_string(getpid());
  mkdir(dir.c_str(), 0700);
  std::string path = dir + "/" + name;
  std::string cmd = "cp /bin/true '" + path + "'";
  if (system(cmd.c_str()) != 0) return "";
  return path;
}

TEST_F(ProbesTest, ExecOfPrefilterNameIsReportedWithArgv) {
  std::string tool = tool_named("credtrace-test-tool");
  ASSERT_FALSE(tool.empty());
  ASSERT_TRUE(probes_->add_exec_name("credtrace-test-tool"));
  pid_t child = spawn({tool, "--flag", "credtrace-exec-marker"});
  ASSERT_GT(child, 0);
  const Captured* exec = wait_for([&](const Captured& c) {
    return c.type == CT_EVENT_EXEC && c.as<ct_exec_event>().hdr.tgid == static_cast<uint32_t>(child);
  });
  ASSERT_TRUE(exec);
  const auto& e = exec->as<ct_exec_event>();
  EXPECT_EQ(e.ppid, static_cast<uint32_t>(getpid()));
  EXPECT_EQ(std::string(e.filename), tool);
  std::string args(e.args, e.args_len);
  EXPECT_EQ(args, tool + std::string("\0--flag\0credtrace-exec-marker\0", 30));
  EXPECT_EQ(e.uid, geteuid());
  EXPECT_GT(e.start_boottime_ns, 0u);
  int status = 0;
  waitpid(child, &status, 0);
  // Unwatched: no exit event.
  EXPECT_FALSE(any([&](const Captured& c) { return c.type == CT_EVENT_EXIT && c.as<ct_exit_event>().hdr.tgid == static_cast<uint32_t>(child); }));
  EXPECT_GT(probes_->read_counters().events[CT_EVENT_EXEC], 0u);
}

TEST_F(ProbesTest, ExecOfNameContainingMcpIsReportedWithoutListing) {
  std::string tool = tool_named("Acme-MCP-Server");
  ASSERT_FALSE(tool.empty());
  pid_t child = spawn({tool});
  EXPECT_TRUE(wait_for([&](const Captured& c) {
    return c.type == CT_EVENT_EXEC && c.as<ct_exec_event>().hdr.tgid == static_cast<uint32_t>(child);
  }));
  waitpid(child, nullptr, 0);
}

TEST_F(ProbesTest, ExecOfOtherNamesIsFilteredAndCounted) {
  std::string tool = tool_named("plain-tool");
  ASSERT_FALSE(tool.empty());
  uint64_t before = probes_->read_counters().filtered_execs;
  pid_t child = spawn({tool});
  waitpid(child, nullptr, 0);
  EXPECT_FALSE(any([&](const Captured& c) {
    return c.type == CT_EVENT_EXEC && c.as<ct_exec_event>().hdr.tgid == static_cast<uint32_t>(child);
  }));
  EXPECT_GT(probes_->read_counters().filtered_execs, before);
}

TEST_F(ProbesTest, WatchIsInheritedByDescendantsAndOpensAreSeen) {
  int go[2];
  ASSERT_EQ(pipe2(go, O_CLOEXEC), 0);
  const std::string marker = "/tmp/credtrace-bpf-test-" + std::to_string(getpid());
  pid_t child = fork();
  if (child == 0) {
    char c;
    if (read(go[0], &c, 1) != 1) _exit(1);
    pid_t grandchild = fork();
    if (grandchild == 0) {
      int fd = open(marker.c_str(), O_RDONLY | O_CREAT, 0600);
      if (fd >= 0) close(fd);
      _exit(0);
    }
    int status = 0;
    waitpid(grandchild, &status, 0);
    _exit(7);
  }
  probes_->add_to_set(CT_SET_WATCHED, child);
  ASSERT_TRUE(probes_->in_set(CT_SET_WATCHED, child));
  ASSERT_EQ(write(go[1], "x", 1), 1);
  const Captured* fork_event = wait_for([&](const Captured& c) {
    return c.type == CT_EVENT_FORK && c.as<ct_fork_event>().parent_tgid == static_cast<uint32_t>(child);
  });
  ASSERT_TRUE(fork_event);
  uint32_t grandchild = fork_event->as<ct_fork_event>().child_tgid;
  const Captured* open_event = wait_for([&](const Captured& c) {
    return c.type == CT_EVENT_FILE_OPEN && c.as<ct_file_open_event>().hdr.tgid == grandchild;
  });
  ASSERT_TRUE(open_event);
  EXPECT_EQ(std::string(open_event->as<ct_file_open_event>().path), marker);
  int status = 0;
  waitpid(child, &status, 0);
  const Captured* exit_event = wait_for([&](const Captured& c) {
    return c.type == CT_EVENT_EXIT && c.as<ct_exit_event>().hdr.tgid == static_cast<uint32_t>(child);
  });
  ASSERT_TRUE(exit_event);
  EXPECT_EQ(exit_event->as<ct_exit_event>().exit_code, 7u << 8);
  EXPECT_FALSE(probes_->in_set(CT_SET_WATCHED, child));
  EXPECT_FALSE(probes_->in_set(CT_SET_WATCHED, grandchild));
  unlink(marker.c_str());
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

TEST_F(ProbesTest, ChildOfClientReportsItsFirstStdinMessage) {
  probes_->add_to_set(CT_SET_CLIENT, getpid());
  int in[2];
  ASSERT_EQ(pipe2(in, O_CLOEXEC), 0);  // the child must not inherit the write end, or cat never sees EOF
  pid_t child = spawn({"/bin/cat"}, in[0]);
  close(in[0]);
  const std::string message = R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{}})" "\n";
  const Captured* exec = wait_for([&](const Captured& c) {
    return c.type == CT_EVENT_EXEC && c.as<ct_exec_event>().hdr.tgid == static_cast<uint32_t>(child);
  });
  ASSERT_TRUE(exec);
  EXPECT_TRUE(exec->as<ct_exec_event>().hdr.flags & CT_FLAG_CANDIDATE);
  ASSERT_EQ(write(in[1], message.data(), message.size()), static_cast<ssize_t>(message.size()));
  const Captured* stdin_event = wait_for([&](const Captured& c) {
    return c.type == CT_EVENT_STDIN && c.as<ct_stdin_event>().hdr.tgid == static_cast<uint32_t>(child);
  });
  ASSERT_TRUE(stdin_event);
  const auto& s = stdin_event->as<ct_stdin_event>();
  EXPECT_EQ(std::string(s.data, s.len), message);
  EXPECT_FALSE(probes_->in_set(CT_SET_CANDIDATE, child));  // only the first message decides
  EXPECT_TRUE(probes_->in_set(CT_SET_WATCHED, child));     // JSON-looking: watched at once, the agent may undo
  close(in[1]);
  int status = 0;
  waitpid(child, &status, 0);
  probes_->remove_from_set(CT_SET_CLIENT, getpid());
}

}  // namespace
}  // namespace credtrace::loader
