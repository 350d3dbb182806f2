// Benchmark helper: a throwaway PostgreSQL server (initdb + pg_ctl from /usr/lib/postgresql/N/bin) on a free loopback
// port, run as nobody when started as root; stopped and removed when this goes.
#pragma once

#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace bench {

class PostgresServer {
 public:
  // Empty url() when the binaries are missing or the server did not start (why: error()).
  explicit PostgresServer(const std::string& dir) : dir_(dir) {
    bin_ = find_bin();
    if (bin_.empty()) {
      error_ = "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (scripts/install-deps.sh)";
      return;
    }
    std::filesystem::create_directories(dir_);
    if (passwd* pw = ::geteuid() == 0 ? getpwnam("nobody") : nullptr) {
      (void)!chown(dir_.c_str(), pw->pw_uid, pw->pw_gid);
      uid_ = static_cast<int>(pw->pw_uid), gid_ = static_cast<int>(pw->pw_gid);
    }
    port_ = free_port();
    std::string data = dir_ + "/data";
    if (run({bin_ + "/initdb", "-D", data, "-U", "bench", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"}) != 0 ||
        run({bin_ + "/pg_ctl", "-D", data, "-l", dir_ + "/postgres.log", "-w", "-o",
             "-c listen_addresses=127.0.0.1 -c port=" + std::to_string(port_) + " -c unix_socket_directories=" + dir_ +
                 " -c shared_buffers=256MB -c max_wal_size=4GB -c dynamic_shared_memory_type=mmap",
             "start"}) != 0 ||
        run({bin_ + "/createdb", "-h", "127.0.0.1", "-p", std::to_string(port_), "-U", "bench", "credtrace"}) != 0) {
      error_ = "PostgreSQL did not start; see " + dir_ + "/postgres.log";
      return;
    }
    started_ = true;
  }
  ~PostgresServer() {
    if (started_) run({bin_ + "/pg_ctl", "-D", dir_ + "/data", "-m", "immediate", "-w", "stop"});
  }
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  std::string url() const {
    return started_ ? "postgres://bench@127.0.0.1:" + std::to_string(port_) + "/credtrace" : std::string();
  }
  const std::string& error() const { return error_; }
  // ANALYZE, as autovacuum does within a minute or so of a bulk load: fresh statistics for the planner.
  bool analyze() const {
    return started_ && run({bin_ + "/psql", "-h", "127.0.0.1", "-p", std::to_string(port_), "-U", "bench", "-d",
                            "credtrace", "-q", "-c", "ANALYZE"}) == 0;
  }

 private:
  static std::string find_bin() {
    std::string best;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
      std::string bin = entry.path().string() + "/bin";
      if (access((bin + "/initdb").c_str(), X_OK) == 0 && access((bin + "/pg_ctl").c_str(), X_OK) == 0 && bin > best)
        best = bin;
    }
    return best;
  }
  static int free_port() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    close(fd);
    return ntohs(addr.sin_port);
  }
  // Runs argv (as nobody when we are root) with output discarded; the exit status.
  int run(const std::vector<std::string>& argv) const {
    std::fflush(nullptr);  // the child must not write our buffered output again
    pid_t pid = fork();
    if (pid == 0) {
      if (uid_ >= 0 && (setgroups(0, nullptr) != 0 || setgid(static_cast<gid_t>(gid_)) != 0 ||
                        setuid(static_cast<uid_t>(uid_)) != 0))
        _exit(126);
      if (chdir(dir_.c_str()) != 0) _exit(126);
      FILE* out = std::freopen("/dev/null", "w", stdout);
      (void)out;
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
  }

  std::string dir_, bin_, error_;
  int port_ = 0, uid_ = -1, gid_ = -1;
  bool started_ = false;
};

}  // namespace bench
