// BPF driver test fixture: the real probes loaded into this kernel, events captured from the ring buffer, and
// helpers that start real processes and sockets. Each probe concern has its own test file (process, file, stdio, net,
// tls); they share this fixture.
#pragma once

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
#include "sensors/files/file_reads.h"
#include "sensors/files/file_roots.h"
#include "sensors/tls/tls_libraries.h"


namespace credtrace::loader {

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
    configure(options);
    probes_ = Probes::start(options, [this](const void* data, size_t size) {
      const auto* hdr = static_cast<const ct_event_header*>(data);
      events_.push_back({hdr->type, std::vector<char>(static_cast<const char*>(data), static_cast<const char*>(data) + size)});
    }, &error);
    ASSERT_TRUE(probes_) << error;
  }

  // A test fixture's own options, on top of the defaults above.
  virtual void configure(ProbeOptions&) {}

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

inline pid_t spawn(const std::vector<std::string>& argv, int stdin_fd = -1) {
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


// A copy of /bin/true under a chosen file name, so the exec prefilter sees that name.
inline std::string tool_named(const std::string& name) {
  std::string dir = "/tmp/credtrace-bpf-tools-" + std::to_string(getpid());
  mkdir(dir.c_str(), 0700);
  std::string path = dir + "/" + name;
  std::string cmd = "cp /bin/true '" + path + "'";
  if (system(cmd.c_str()) != 0) return "";
  return path;
}

// A `#!/bin/sh` script under a chosen file name (the kernel then executes /bin/sh: bprm->file is the interpreter).
inline std::string script_named(const std::string& name, const std::string& body = "exit 0") {
  std::string path = tool_named(name);
  if (path.empty()) return "";
  std::string cmd = "printf '#!/bin/sh\\n%s\\n' '" + body + "' > '" + path + "' && chmod 755 '" + path + "'";
  return system(cmd.c_str()) == 0 ? path : "";
}

inline bool reported_exec_of(const Captured& c, pid_t pid) {
  return c.type == CT_EVENT_EXEC && c.as<ct_exec_event>().hdr.tgid == static_cast<uint32_t>(pid);
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


}  // namespace credtrace::loader
