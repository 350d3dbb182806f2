// BPF driver tests of the stdio probes: the first message a candidate reads from stdin, and an MCP server's
// stdin reads and stdout writes on the pipes the agent listed (JSON-RPC over stdio).
#include "probe_fixture.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>

namespace credtrace::loader {
namespace {

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


uint64_t inode_of(int fd) {
  struct stat st{};
  return fstat(fd, &st) == 0 ? st.st_ino : 0;
}

// A watched process whose stdin and stdout are listed pipes: what it reads and writes there is captured, in order,
// keyed by each pipe's inode; an unlisted pipe (its stderr) is not.
TEST_F(ProbesTest, ListedStdioPipesOfAWatchedServerAreCapturedBothWays) {
  int in[2], out[2];
  ASSERT_EQ(pipe2(in, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(out, O_CLOEXEC), 0);
  ASSERT_TRUE(probes_->add_stdio_file(inode_of(in[0]), 1));
  ASSERT_TRUE(probes_->add_stdio_file(inode_of(out[1]), 1));
  pid_t child = fork();
  ASSERT_GE(child, 0);
  const std::string answer = R"({"jsonrpc":"2.0","id":1,"result":{}})" "\n";
  if (child == 0) {  // the server: reads one message from stdin, answers on stdout
    dup2(in[0], 0);
    dup2(out[1], 1);
    raise(SIGSTOP);  // the parent watches it first
    char buf[512];
    ssize_t n = read(0, buf, sizeof(buf));
    bool ok = n > 0 && write(1, answer.data(), answer.size()) == static_cast<ssize_t>(answer.size());
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, WUNTRACED), child);
  probes_->add_to_set(CT_SET_WATCHED, child);
  kill(child, SIGCONT);
  const std::string request = R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}})" "\n";
  ASSERT_EQ(write(in[1], request.data(), request.size()), static_cast<ssize_t>(request.size()));
  auto stdio_of = [&](uint32_t direction) {
    return wait_for([&](const Captured& c) {
      return c.type == CT_EVENT_STDIO_DATA && c.as<ct_tls_data_event>().hdr.tgid == static_cast<uint32_t>(child) &&
             c.as<ct_tls_data_event>().direction == direction;
    });
  };
  const Captured* got = stdio_of(CT_TLS_READ);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->as<ct_tls_data_event>().ssl, inode_of(in[0]));
  EXPECT_EQ(std::string(got->as<ct_tls_data_event>().data, got->as<ct_tls_data_event>().len), request);
  const Captured* written = stdio_of(CT_TLS_WRITE);
  ASSERT_TRUE(written);
  EXPECT_EQ(written->as<ct_tls_data_event>().ssl, inode_of(out[1]));
  EXPECT_EQ(std::string(written->as<ct_tls_data_event>().data, written->as<ct_tls_data_event>().len), answer);
  waitpid(child, &status, 0);
  probes_->remove_stdio_file(inode_of(in[0]));
  probes_->remove_stdio_file(inode_of(out[1]));
  for (int fd : {in[0], in[1], out[0], out[1]}) close(fd);
}

// The same process reading a pipe that is not listed: nothing is captured (every other process pays one fd check).
TEST_F(ProbesTest, UnlistedStdinOfAWatchedProcessIsNotCaptured) {
  int in[2];
  ASSERT_EQ(pipe2(in, O_CLOEXEC), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    dup2(in[0], 0);
    raise(SIGSTOP);
    char buf[64];
    _exit(read(0, buf, sizeof(buf)) > 0 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, WUNTRACED), child);
  probes_->add_to_set(CT_SET_WATCHED, child);
  kill(child, SIGCONT);
  ASSERT_EQ(write(in[1], "{}\n", 3), 3);
  waitpid(child, &status, 0);
  probes_->poll(100);
  EXPECT_FALSE(any([&](const Captured& c) {
    return c.type == CT_EVENT_STDIO_DATA && c.as<ct_tls_data_event>().hdr.tgid == static_cast<uint32_t>(child);
  }));
  for (int fd : in) close(fd);
}

// A server blocked in read() when the agent lists its stdin (waiting for its next message) is captured once the read
// returns: the listing is checked when the syscall exits.
TEST_F(ProbesTest, ReadBlockedBeforeTheListingIsCaptured) {
  int in[2];
  ASSERT_EQ(pipe2(in, O_CLOEXEC), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    dup2(in[0], 0);
    raise(SIGSTOP);
    char buf[256];
    _exit(read(0, buf, sizeof(buf)) > 0 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, WUNTRACED), child);
  probes_->add_to_set(CT_SET_WATCHED, child);
  kill(child, SIGCONT);
  usleep(200 * 1000);  // the child is now blocked in read(0): its entry saw no listed pipe
  ASSERT_TRUE(probes_->add_stdio_file(inode_of(in[0]), 1));
  const std::string message = R"({"jsonrpc":"2.0","id":4,"method":"tools/call"})" "\n";
  ASSERT_EQ(write(in[1], message.data(), message.size()), static_cast<ssize_t>(message.size()));
  ASSERT_EQ(waitpid(child, &status, 0), child);
  const Captured* got = wait_for([&](const Captured& c) {
    return c.type == CT_EVENT_STDIO_DATA && c.as<ct_tls_data_event>().hdr.tgid == static_cast<uint32_t>(child);
  });
  ASSERT_TRUE(got);
  EXPECT_EQ(std::string(got->as<ct_tls_data_event>().data, got->as<ct_tls_data_event>().len), message);
  probes_->remove_stdio_file(inode_of(in[0]));
  for (int fd : in) close(fd);
}

// A server writing its stdout with writev (libuv gathers queued messages): each iovec is captured in order.
TEST_F(ProbesTest, GatheredStdoutWriteIsCaptured) {
  int out[2];
  ASSERT_EQ(pipe2(out, O_CLOEXEC), 0);
  ASSERT_TRUE(probes_->add_stdio_file(inode_of(out[1]), 1));
  const std::string first = R"({"jsonrpc":"2.0","id":1,"result":{}})" "\n";
  const std::string second = R"({"jsonrpc":"2.0","id":2,"result":{}})" "\n";
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    dup2(out[1], 1);
    raise(SIGSTOP);
    struct iovec iov[2] = {{const_cast<char*>(first.data()), first.size()},
                           {const_cast<char*>(second.data()), second.size()}};
    _exit(writev(1, iov, 2) == static_cast<ssize_t>(first.size() + second.size()) ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, WUNTRACED), child);
  probes_->add_to_set(CT_SET_WATCHED, child);
  kill(child, SIGCONT);
  ASSERT_EQ(waitpid(child, &status, 0), child);
  for (const std::string& want : {first, second}) {
    const Captured* got = wait_for([&](const Captured& c) {
      if (c.type != CT_EVENT_STDIO_DATA) return false;
      const auto& e = c.as<ct_tls_data_event>();
      return e.hdr.tgid == static_cast<uint32_t>(child) && std::string(e.data, e.len) == want;
    });
    EXPECT_TRUE(got) << want;
  }
  probes_->remove_stdio_file(inode_of(out[1]));
  for (int fd : out) close(fd);
}

// A write longer than the capture keeps its head and its last chunk: the parser sees where the line ends, so the
// message after it is not lost with it.
TEST_F(ProbesTest, LongStdoutWriteKeepsItsHeadAndItsTail) {
  int out[2];
  ASSERT_EQ(pipe2(out, O_CLOEXEC), 0);
  ASSERT_EQ(fcntl(out[1], F_SETPIPE_SZ, 1 << 20), 1 << 20);
  ASSERT_TRUE(probes_->add_stdio_file(inode_of(out[1]), 1));
  const size_t total = CT_STDIO_MAX_CHUNKS * CT_TLS_CHUNK_LEN + 40000;
  std::string line(total - 2, 'y');
  line += "}\n";
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    dup2(out[1], 1);
    raise(SIGSTOP);
    _exit(write(1, line.data(), line.size()) == static_cast<ssize_t>(line.size()) ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, WUNTRACED), child);
  probes_->add_to_set(CT_SET_WATCHED, child);
  kill(child, SIGCONT);
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  const Captured* tail = wait_for([&](const Captured& c) {
    return c.type == CT_EVENT_STDIO_DATA && c.as<ct_tls_data_event>().hdr.tgid == static_cast<uint32_t>(child) &&
           c.as<ct_tls_data_event>().offset == total - CT_TLS_CHUNK_LEN;
  });
  ASSERT_TRUE(tail);
  const auto& e = tail->as<ct_tls_data_event>();
  EXPECT_EQ(e.total_len, total);
  ASSERT_EQ(e.len, CT_TLS_CHUNK_LEN);
  EXPECT_EQ(std::string(e.data + e.len - 2, 2), "}\n");
  for (uint32_t head = 0; head + 1 < CT_STDIO_MAX_CHUNKS; ++head) {
    EXPECT_TRUE(any([&](const Captured& c) {
      return c.type == CT_EVENT_STDIO_DATA && c.as<ct_tls_data_event>().hdr.tgid == static_cast<uint32_t>(child) &&
             c.as<ct_tls_data_event>().offset == head * CT_TLS_CHUNK_LEN;
    })) << "head chunk " << head;
  }
  EXPECT_FALSE(any([&](const Captured& c) {  // the chunk the tail replaces is not sent
    return c.type == CT_EVENT_STDIO_DATA && c.as<ct_tls_data_event>().hdr.tgid == static_cast<uint32_t>(child) &&
           c.as<ct_tls_data_event>().offset == (CT_STDIO_MAX_CHUNKS - 1) * CT_TLS_CHUNK_LEN;
  }));
  probes_->remove_stdio_file(inode_of(out[1]));
  for (int fd : out) close(fd);
}

}  // namespace
}  // namespace credtrace::loader
