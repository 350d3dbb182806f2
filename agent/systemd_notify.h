// The systemd notification protocol (sd_notify) for Type=notify units: READY, STATUS, WATCHDOG and STOPPING datagrams
// to $NOTIFY_SOCKET; every call is a no-op when the agent was not started by systemd.
#pragma once

#include <chrono>
#include <string>

#include "common/unique_fd.h"

namespace credtrace {

class SystemdNotifier {
 public:
  // Reads NOTIFY_SOCKET ("/path" or "@abstract") and WATCHDOG_USEC (only when WATCHDOG_PID is unset or this pid).
  SystemdNotifier();
  bool enabled() const { return socket_.valid(); }
  std::chrono::microseconds watchdog_interval() const { return watchdog_; }

  void ready(const std::string& status) { send("READY=1\nSTATUS=" + status); }
  void status(const std::string& status) { send("STATUS=" + status); }
  void stopping() { send("STOPPING=1"); }
  void reloading() { send("RELOADING=1"); }
  // WATCHDOG=1 at half the interval systemd asked for (the main loop calls this every turn).
  void watchdog_if_due(std::chrono::steady_clock::time_point now);

 private:
  void send(const std::string& message);

  common::UniqueFd socket_;
  std::string path_;  // '\0'-led for an abstract socket
  std::chrono::microseconds watchdog_{0};
  std::chrono::steady_clock::time_point last_ping_{};
};

}  // namespace credtrace
