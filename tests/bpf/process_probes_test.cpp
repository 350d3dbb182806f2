// BPF driver tests of the process probes: exec (prefilter, scripts, wrappers, provisional watch), fork inheritance, exit.
#include "probe_fixture.h"

namespace credtrace::loader {
namespace {

TEST_F(ProbesTest, EveryProbeAttaches) {
  EXPECT_EQ(probes_->attached().size(), 29u);  // process 5, file 3, net 15, stdio 4, libmap 2 (TLS uprobes: later)
  EXPECT_FALSE(probes_->add_exec_name(std::string(32, 'x')));  // keys hold 31 bytes
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
  EXPECT_EQ(e.hdr.flags & CT_FLAG_PROVISIONAL, 0u);  // a listed name alone is reported, not watched
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
  const Captured* exec = wait_for([&](const Captured& c) {
    return c.type == CT_EVENT_EXEC && c.as<ct_exec_event>().hdr.tgid == static_cast<uint32_t>(child);
  });
  ASSERT_TRUE(exec);
  // Watched at once: what it does before the agent's verdict (opens, connects) is seen.
  EXPECT_EQ(exec->as<ct_exec_event>().hdr.flags & CT_FLAG_PROVISIONAL, CT_FLAG_PROVISIONAL);
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


TEST_F(ProbesTest, ShebangScriptIsJudgedByItsOwnNameNotOnlyItsInterpreter) {
  std::string script = script_named("mcp-server-script");
  ASSERT_FALSE(script.empty());
  pid_t child = spawn({script});
  const Captured* exec = wait_for([&](const Captured& c) { return reported_exec_of(c, child); });
  ASSERT_TRUE(exec);
  EXPECT_EQ(std::string(exec->as<ct_exec_event>().filename), script);
  waitpid(child, nullptr, 0);
  // A listed script name (a client config's command) passes too, though "sh" is not listed.
  std::string listed = script_named("run-github.sh");
  ASSERT_TRUE(probes_->add_exec_name("run-github.sh"));
  child = spawn({listed});
  EXPECT_TRUE(wait_for([&](const Captured& c) { return reported_exec_of(c, child); }));
  waitpid(child, nullptr, 0);
}

TEST_F(ProbesTest, WrapperIsReportedOnlyWhenItsArgumentsMentionMcp) {
  ASSERT_TRUE(probes_->add_exec_name("sh", /*wrapper=*/true));
  pid_t plain = spawn({"/bin/sh", "-c", "exit 0"});
  waitpid(plain, nullptr, 0);
  pid_t wrapped = spawn({"/bin/sh", "-c", "exit 0", "./Mcp-Server-x.sh"});
  EXPECT_TRUE(wait_for([&](const Captured& c) { return reported_exec_of(c, wrapped); }));
  waitpid(wrapped, nullptr, 0);
  EXPECT_FALSE(any([&](const Captured& c) { return reported_exec_of(c, plain); }));
  // Listed without the wrapper mark (a config's command: sh), every exec of it is reported.
  ASSERT_TRUE(probes_->add_exec_name("sh"));
  plain = spawn({"/bin/sh", "-c", "exit 0"});
  EXPECT_TRUE(wait_for([&](const Captured& c) { return reported_exec_of(c, plain); }));
  waitpid(plain, nullptr, 0);
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


// A watched process whose main thread calls pthread_exit lives on in its other thread: its EXIT comes with the last
// thread, carrying the process's exit status and start time.
TEST_F(ProbesTest, ExitIsReportedWhenTheLastThreadEndsNotTheLeader) {
  int go[2];
  static int finish[2];
  ASSERT_EQ(pipe2(go, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(finish, O_CLOEXEC), 0);
  pid_t child = fork();
  if (child == 0) {
    char c;
    if (read(go[0], &c, 1) != 1) _exit(1);
    pthread_t worker;
    pthread_create(&worker, nullptr, [](void*) -> void* {
      char byte;
      if (read(finish[0], &byte, 1) != 1) _exit(1);
      exit(3);
    }, nullptr);
    syscall(SYS_exit, 0);  // the leader thread alone ends (pthread_exit would unwind through gtest's frames)
  }
  probes_->add_to_set(CT_SET_WATCHED, child);
  ASSERT_EQ(write(go[1], "x", 1), 1);
  auto is_exit = [&](const Captured& c) {
    return c.type == CT_EVENT_EXIT && c.as<ct_exit_event>().hdr.tgid == static_cast<uint32_t>(child);
  };
  usleep(200 * 1000);  // the leader has called pthread_exit by now
  EXPECT_FALSE(any(is_exit)) << "EXIT reported while a thread of the process still runs";
  ASSERT_EQ(write(finish[1], "x", 1), 1);
  const Captured* exit_event = wait_for(is_exit);
  ASSERT_TRUE(exit_event);
  EXPECT_EQ(exit_event->as<ct_exit_event>().exit_code, 3u << 8);
  int status = 0;
  waitpid(child, &status, 0);
}

// execve from a thread other than the leader: the kernel frees the old leader (and its task storage), yet the new
// image is still watched.
TEST_F(ProbesTest, ExecFromANonLeaderThreadKeepsTheWatch) {
  std::string tool = tool_named("credtrace-thread-exec");
  ASSERT_FALSE(tool.empty());
  int go[2];
  ASSERT_EQ(pipe2(go, O_CLOEXEC), 0);
  pid_t child = fork();
  if (child == 0) {
    char c;
    if (read(go[0], &c, 1) != 1) _exit(1);
    static std::string path;
    path = tool;
    pthread_t worker;
    pthread_create(&worker, nullptr, [](void*) -> void* {
      char* argv[] = {path.data(), nullptr};
      execv(argv[0], argv);
      _exit(127);
    }, nullptr);
    pause();
  }
  probes_->add_to_set(CT_SET_WATCHED, child);
  ASSERT_EQ(write(go[1], "x", 1), 1);
  const Captured* exec = wait_for([&](const Captured& c) {
    return c.type == CT_EVENT_EXEC && c.as<ct_exec_event>().hdr.tgid == static_cast<uint32_t>(child);
  });
  ASSERT_TRUE(exec);
  EXPECT_TRUE(exec->as<ct_exec_event>().hdr.flags & CT_FLAG_WATCHED);
  EXPECT_TRUE(wait_for([&](const Captured& c) {
    return c.type == CT_EVENT_EXIT && c.as<ct_exit_event>().hdr.tgid == static_cast<uint32_t>(child);
  }));
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}


}  // namespace
}  // namespace credtrace::loader
