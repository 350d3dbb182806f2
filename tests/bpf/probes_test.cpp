// BPF driver tests: the real probes, loaded into this kernel, see real exec/fork/exit/open/read syscalls.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/mount.h>
#include <sys/uio.h>
#include <sched.h>
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
#include "sensors/file_reads.h"
#include "sensors/file_roots.h"
#include "sensors/tls_libraries.h"

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
  EXPECT_EQ(probes_->attached().size(), 17u);
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

// A `#!/bin/sh` script under a chosen file name (the kernel then executes /bin/sh: bprm->file is the interpreter).
std::string script_named(const std::string& name, const std::string& body = "exit 0") {
  std::string path = tool_named(name);
  if (path.empty()) return "";
  std::string cmd = "printf '#!/bin/sh\\n%s\\n' '" + body + "' > '" + path + "' && chmod 755 '" + path + "'";
  return system(cmd.c_str()) == 0 ? path : "";
}

bool reported_exec_of(const Captured& c, pid_t pid) {
  return c.type == CT_EVENT_EXEC && c.as<ct_exec_event>().hdr.tgid == static_cast<uint32_t>(pid);
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
  EXPECT_EQ(sensors::userspace_dev(e.root_dev), root.st_dev);
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

// A loopback listener and a socket this process connected to it.
struct LoopbackPair {
  int listener = -1, client = -1, server = -1;
  bool open() {
    listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(listener, 1) != 0 ||
        getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      return false;
    client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return false;
    server = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    return server >= 0;
  }
  ~LoopbackPair() {
    for (int fd : {listener, client, server})
      if (fd >= 0) close(fd);
  }
};

std::string joined_socket_data(const std::vector<Captured>& events, int fd) {
  std::string out;
  for (const auto& c : events) {
    if (c.type != CT_EVENT_SOCK_DATA) continue;
    const auto& e = c.as<ct_tls_data_event>();
    if (e.hdr.tgid == static_cast<uint32_t>(getpid()) && e.ssl == static_cast<uint64_t>(fd)) out.append(e.data, e.len);
  }
  return out;
}

// Gathered writes on a connected socket (libuv's writev, sendmsg) are captured iovec by iovec, in order.
TEST_F(ProbesTest, WritevAndSendmsgOnAConnectedSocketAreCaptured) {
  probes_->add_to_set(CT_SET_WATCHED, getpid());
  LoopbackPair pair;
  ASSERT_TRUE(pair.open());
  std::string a = "POST /v1 HTTP/1.1\r\n", b = "Host: 127.0.0.1\r\n", c = "\r\n";
  iovec parts[] = {{a.data(), a.size()}, {b.data(), b.size()}, {c.data(), c.size()}};
  ASSERT_EQ(writev(pair.client, parts, 3), static_cast<ssize_t>(a.size() + b.size() + c.size()));
  msghdr msg{};
  msg.msg_iov = parts;
  msg.msg_iovlen = 2;
  ASSERT_EQ(sendmsg(pair.client, &msg, 0), static_cast<ssize_t>(a.size() + b.size()));
  for (int i = 0; i < 20; ++i) probes_->poll(20);
  probes_->remove_from_set(CT_SET_WATCHED, getpid());
  EXPECT_EQ(joined_socket_data(events_, pair.client), a + b + c + a + b);
}

// In-memory TLS (the memory BIOs Node and asyncio use) inside this process.
struct MemoryTls {
  SSL_CTX* client_ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX* server_ctx = SSL_CTX_new(TLS_server_method());
  SSL* client = nullptr;
  SSL* server = nullptr;

  bool handshake() {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(cert, X509_get_subject_name(cert));
    X509_set_pubkey(cert, key);
    X509_sign(cert, key, EVP_sha256());
    SSL_CTX_set_verify(client_ctx, SSL_VERIFY_NONE, nullptr);
    SSL_CTX_use_certificate(server_ctx, cert);
    SSL_CTX_use_PrivateKey(server_ctx, key);
    X509_free(cert);
    EVP_PKEY_free(key);
    client = SSL_new(client_ctx);
    server = SSL_new(server_ctx);
    BIO *to_server = nullptr, *to_client = nullptr;
    BIO_new_bio_pair(&to_server, 1 << 16, &to_client, 1 << 16);
    SSL_set_bio(client, to_server, to_server);
    SSL_set_bio(server, to_client, to_client);
    SSL_set_connect_state(client);
    SSL_set_accept_state(server);
    for (int i = 0; i < 100; ++i) {
      const int c = SSL_do_handshake(client), s = SSL_do_handshake(server);  // both sides step every round
      if (c == 1 && s == 1) return true;
    }
    return false;
  }
  ~MemoryTls() {
    SSL_free(client);
    SSL_free(server);
    SSL_CTX_free(client_ctx);
    SSL_CTX_free(server_ctx);
  }
};

std::string joined_tls_data(const std::vector<Captured>& events, const SSL* ssl, uint32_t direction) {
  std::string out;
  for (const auto& c : events) {
    if (c.type != CT_EVENT_TLS_DATA) continue;
    const auto& e = c.as<ct_tls_data_event>();
    if (e.ssl == reinterpret_cast<uint64_t>(ssl) && e.direction == direction) out.append(e.data, e.len);
  }
  return out;
}

// The system libssl's probes: SSL_new's return, SSL_write, SSL_read and SSL_read_ex (through their common internal
// callee, whose entry is emulated) and SSL_free, all keyed by the SSL*.
TEST_F(ProbesTest, SystemLibsslWritesReadsAndStreamLifetimeAreSeen) {
  sensors::TlsLibraries libraries(*probes_);
  ASSERT_GT(libraries.attach_file("/usr/lib/x86_64-linux-gnu/libssl.so.3"), 5u);
  for (const auto& where : libraries.attached()) EXPECT_NE(where.find("emulated)"), std::string::npos) << where;
  probes_->add_to_set(CT_SET_WATCHED, getpid());
  std::string request = "GET /v1/models HTTP/1.1\r\nHost: api.example.test\r\n\r\n";
  const SSL* client_ssl = nullptr;
  const SSL* server_ssl = nullptr;
  {
    MemoryTls tls;
    ASSERT_TRUE(tls.handshake());
    client_ssl = tls.client, server_ssl = tls.server;
    ASSERT_EQ(SSL_write(tls.client, request.data(), static_cast<int>(request.size())), static_cast<int>(request.size()));
    std::string first(10, '\0'), rest(request.size(), '\0');
    ASSERT_EQ(SSL_read(tls.server, first.data(), static_cast<int>(first.size())), 10);
    size_t got = 0;
    ASSERT_EQ(SSL_read_ex(tls.server, rest.data(), rest.size(), &got), 1);
    ASSERT_EQ(first + rest.substr(0, got), request);
  }
  for (int i = 0; i < 20; ++i) probes_->poll(20);
  probes_->remove_from_set(CT_SET_WATCHED, getpid());
  EXPECT_EQ(joined_tls_data(events_, client_ssl, CT_TLS_WRITE), request);
  EXPECT_EQ(joined_tls_data(events_, server_ssl, CT_TLS_READ), request);
  for (const SSL* ssl : {client_ssl, server_ssl}) {
    auto of = [&](uint32_t type) {
      return [=](const Captured& c) {
        return c.type == type && c.as<ct_tls_free_event>().ssl == reinterpret_cast<uint64_t>(ssl);
      };
    };
    EXPECT_TRUE(any(of(CT_EVENT_TLS_NEW)));
    EXPECT_TRUE(any(of(CT_EVENT_TLS_FREE)));
  }
}

// A memory BIO's ciphertext (node, asyncio) flushed by the writing thread to a socket it connected is paired with the
// SSL_write that produced it, also behind other records in the same write (node flushes TLS 1.3's ChangeCipherSpec
// and Finished with the first request); bytes that are not TLS records leave the pairing pending.
TEST_F(ProbesTest, SslWriteCiphertextFlushedToASocketIsPairedWithIt) {
  sensors::TlsLibraries libraries(*probes_);
  ASSERT_GT(libraries.attach_file("/usr/lib/x86_64-linux-gnu/libssl.so.3"), 5u);
  probes_->add_to_set(CT_SET_WATCHED, getpid());
  LoopbackPair pair;
  ASSERT_TRUE(pair.open());  // connected while watched: the kernel knows the socket
  std::string request = "POST /v1/messages HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n";
  const SSL* client_ssl = nullptr;
  {
    MemoryTls tls;
    ASSERT_TRUE(tls.handshake());
    client_ssl = tls.client;
    ASSERT_EQ(SSL_write(tls.client, request.data(), static_cast<int>(request.size())), static_cast<int>(request.size()));
    const std::string not_a_record = "GET / HTTP/1.1\r\n\r\n";
    ASSERT_EQ(write(pair.client, not_a_record.data(), not_a_record.size()), static_cast<ssize_t>(not_a_record.size()));
    std::string ciphertext(4096, '\0');
    const int n = BIO_read(SSL_get_rbio(tls.server), ciphertext.data(), static_cast<int>(ciphertext.size()));
    ASSERT_GT(n, static_cast<int>(request.size()));
    const std::string flushed = std::string("\x14\x03\x03\x00\x01\x01", 6) + ciphertext.substr(0, n);
    ASSERT_EQ(write(pair.client, flushed.data(), flushed.size()), static_cast<ssize_t>(flushed.size()));
  }
  for (int i = 0; i < 20; ++i) probes_->poll(20);
  probes_->remove_from_set(CT_SET_WATCHED, getpid());
  std::vector<ct_tls_socket_event> pairs;
  for (const auto& c : events_)
    if (c.type == CT_EVENT_TLS_SOCKET && c.as<ct_tls_socket_event>().ssl == reinterpret_cast<uint64_t>(client_ssl))
      pairs.push_back(c.as<ct_tls_socket_event>());
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_EQ(pairs[0].fd, static_cast<uint32_t>(pair.client));
  EXPECT_EQ(pairs[0].hdr.tgid, static_cast<uint32_t>(getpid()));
  EXPECT_GE(pairs[0].record_len, request.size());
}

}  // namespace
}  // namespace credtrace::loader
