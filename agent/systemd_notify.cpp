// sd_notify without libsystemd: one datagram per notification to the socket systemd named in $NOTIFY_SOCKET.
#include "systemd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace credtrace {

SystemdNotifier::SystemdNotifier() {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (!path || (path[0] != '/' && path[0] != '@') || std::strlen(path) >= sizeof(sockaddr_un::sun_path)) return;
  path_ = path;
  if (path_[0] == '@') path_[0] = '\0';
  socket_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  const char* usec = std::getenv("WATCHDOG_USEC");
  const char* pid = std::getenv("WATCHDOG_PID");
  if (usec && (!pid || std::strtoul(pid, nullptr, 10) == static_cast<unsigned long>(::getpid())))
    watchdog_ = std::chrono::microseconds(std::strtoull(usec, nullptr, 10));
}

void SystemdNotifier::watchdog_if_due(std::chrono::steady_clock::time_point now) {
  if (!enabled() || watchdog_.count() == 0 || now - last_ping_ < watchdog_ / 2) return;
  last_ping_ = now;
  send("WATCHDOG=1");
}

void SystemdNotifier::send(const std::string& message) {
  if (!enabled()) return;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path_.data(), path_.size());
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path_.size() + (path_[0] ? 1 : 0));
  (void)::sendto(socket_.get(), message.data(), message.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr), len);
}

}  // namespace credtrace
