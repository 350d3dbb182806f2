// The preload socket: listening, accepting, the hello and its memfd (SCM_RIGHTS), peer authentication, answers.
#include "sensors/preload/preload_server.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

namespace credtrace::sensors {

PreloadServer::~PreloadServer() {
  if (listener_.valid()) ::unlink(path_.c_str());
}

bool PreloadServer::listen(std::string* error) {
  std::error_code ec;
  const std::filesystem::path dir = std::filesystem::path(path_).parent_path();
  const bool created = std::filesystem::create_directories(dir, ec);
  if (ec) {
    *error = "cannot create " + dir.string() + ": " + ec.message();
    return false;
  }
  if (created) ::chmod(dir.c_str(), 0755);  // a directory that existed keeps its mode (/tmp keeps its sticky bit)
  common::UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (!fd || path_.size() >= sizeof(addr.sun_path)) {
    *error = "cannot create socket " + path_;
    return false;
  }
  std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
  ::unlink(path_.c_str());  // left by an agent that did not stop cleanly
  const mode_t old_umask = ::umask(0111);  // the socket is made 0666 by bind itself: no chmod of a path after it
  const int bound = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  ::umask(old_umask);
  if (bound != 0 || ::listen(fd.get(), 1024) != 0) {
    *error = "cannot listen on " + path_ + ": " + std::strerror(errno);
    return false;
  }
  listener_ = std::move(fd);
  return true;
}

std::vector<PreloadRegistration> PreloadServer::accept(size_t room, uint64_t now_mono_ns) {
  std::vector<PreloadRegistration> out;
  if (!listener_) return out;
  // At most kMaxWaiting connections wait for their hello: connecting without sending one cannot exhaust the
  // agent's descriptors (the rest stay in the listen backlog).
  // Hellos read whose identity is not confirmed yet (at most kMaxUnconfirmed) do not count: they hold no backlog.
  size_t without_hello = static_cast<size_t>(
      std::count_if(waiting_.begin(), waiting_.end(), [](const Waiting& w) { return !w.hello; }));
  while (without_hello < kMaxWaiting) {
    const int conn = ::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (conn < 0) break;
    ++without_hello;
    Waiting waiting;
    waiting.connection.reset(conn);
    waiting.since_ns = now_mono_ns;
    waiting_.push_back(std::move(waiting));
  }
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    const Hello hello = read_hello(*it, room > out.size() ? room - out.size() : 0, out);
    if (hello == Hello::waiting && now_mono_ns - it->since_ns < kHelloWaitNs) {
      ++it;
      continue;
    }
    if (hello == Hello::waiting && it->hello) refuse(it->connection.get(), CT_REFUSED_IDENTITY, stats_.refused_identity);
    else if (hello == Hello::waiting) ++stats_.hello_timeouts;
    if (it->unconfirmed) --unconfirmed_;
    it = waiting_.erase(it);
  }
  return out;
}

namespace {

// The memfd passed with the hello; every other descriptor received is closed.
common::UniqueFd take_fds(msghdr& msg) {
  common::UniqueFd memfd;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < n; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      if (!memfd) memfd.reset(fd);
      else ::close(fd);
    }
  }
  return memfd;
}

}  // namespace

// The hello, its memfd and the peer's credentials, once: kept in waiting for read_hello's checks.
PreloadServer::Hello PreloadServer::receive_hello(Waiting& waiting) {
  ct_preload_hello hello{};
  char control[CMSG_SPACE(sizeof(int) * 4)] = {};
  iovec iov{&hello, sizeof(hello)};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  const ssize_t n = ::recvmsg(waiting.connection.get(), &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Hello::waiting;
  common::UniqueFd memfd = take_fds(msg);
  const int conn = waiting.connection.get();
  if (n != static_cast<ssize_t>(sizeof(hello)) || hello.magic != CT_PRELOAD_MAGIC) {
    ++stats_.malformed_hellos;
    return Hello::refused;
  }
  if (hello.version != CT_PRELOAD_VERSION) return refuse(conn, CT_REFUSED_VERSION, stats_.refused_version), Hello::refused;
  socklen_t len = sizeof(waiting.peer);
  if (::getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &waiting.peer, &len) != 0 || waiting.peer.pid <= 0)
    return refuse(conn, CT_REFUSED_IDENTITY, stats_.refused_identity), Hello::refused;
  waiting.hello = hello;
  waiting.memfd = std::move(memfd);
  return Hello::done;
}

PreloadServer::Hello PreloadServer::read_hello(Waiting& waiting, size_t room, std::vector<PreloadRegistration>& out) {
  if (!waiting.hello) {
    if (Hello received = receive_hello(waiting); received != Hello::done) return received;
  }
  const ct_preload_hello& hello = *waiting.hello;
  const ucred peer = waiting.peer;
  const int conn = waiting.connection.get();
  switch (identity_(static_cast<uint32_t>(peer.pid), hello.start_time_ticks)) {
    case Identity::confirmed: break;
    case Identity::unknown:
      if (waiting.unconfirmed) return Hello::waiting;
      if (unconfirmed_ >= kMaxUnconfirmed) return refuse(conn, CT_REFUSED_IDENTITY, stats_.refused_identity), Hello::refused;
      waiting.unconfirmed = true;
      ++unconfirmed_;
      return Hello::waiting;
    case Identity::refused: return refuse(conn, CT_REFUSED_IDENTITY, stats_.refused_identity), Hello::refused;
  }
  common::UniqueFd memfd = std::move(waiting.memfd);
  if (room == 0) return refuse(conn, CT_REFUSED_FULL, stats_.refused_full), Hello::refused;
  std::string error;
  std::unique_ptr<PreloadRing> ring =
      memfd ? PreloadRing::map(memfd.get(), hello.ring_bytes, hello.table_slots, &error) : nullptr;
  if (!ring) return refuse(conn, CT_REFUSED_MEMORY, stats_.refused_memory), Hello::refused;
  ct_preload_welcome welcome{CT_PRELOAD_MAGIC, 0};
  (void)::send(conn, &welcome, sizeof(welcome), MSG_DONTWAIT | MSG_NOSIGNAL);
  ++stats_.accepted;
  PreloadRegistration registration;
  registration.pid = static_cast<uint32_t>(peer.pid);
  registration.uid = peer.uid;
  registration.flags = hello.flags;
  registration.start_ticks = hello.start_time_ticks;
  registration.exe.assign(hello.exe, strnlen(hello.exe, sizeof(hello.exe)));
  registration.ring = std::move(ring);
  registration.connection = std::move(waiting.connection);
  out.push_back(std::move(registration));
  return Hello::done;
}

void PreloadServer::refuse(int connection, uint32_t status, uint64_t& counter) {
  ++counter;
  ct_preload_welcome welcome{CT_PRELOAD_MAGIC, status};
  (void)::send(connection, &welcome, sizeof(welcome), MSG_DONTWAIT | MSG_NOSIGNAL);
}

// Plain read(2): a process that exits between open and read fails it with ESRCH, which std::ifstream's filebuf turns
// into an exception (std::terminate in the agent).
uint64_t proc_start_ticks(const std::string& proc_root, uint32_t pid) {
  common::UniqueFd fd(::open((proc_root + "/" + std::to_string(pid) + "/stat").c_str(), O_RDONLY | O_CLOEXEC));
  char buf[1024];
  const ssize_t n = fd ? ::read(fd.get(), buf, sizeof(buf)) : -1;
  if (n <= 0) return 0;
  const std::string stat(buf, static_cast<size_t>(n));
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return 0;
  std::istringstream fields(stat.substr(paren + 2));
  std::string field;
  for (int i = 3; i <= 22 && (fields >> field); ++i)
    if (i == 22) return std::strtoull(field.c_str(), nullptr, 10);
  return 0;
}

}  // namespace credtrace::sensors
