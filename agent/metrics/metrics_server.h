// The agent's Prometheus endpoint (metrics.enabled): GET /metrics on a loopback port by default, served from the
// agent's main loop without a thread (a scrape waits at most one loop turn).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "common/unique_fd.h"

namespace credtrace::metrics {

class MetricsServer {
 public:
  // listen: "HOST:PORT" (an IPv4 address). "" on success, else what failed.
  std::string listen(const std::string& host_port);
  bool listening() const { return listener_.valid(); }
  // Accepts waiting scrapes and answers those whose request arrived: GET /metrics with render(), else 404.
  void serve(const std::function<std::string()>& render);

 private:
  struct Connection {
    common::UniqueFd fd;
    std::string request;
    std::chrono::steady_clock::time_point since;
  };
  static constexpr size_t kMaxConnections = 16;
  static constexpr size_t kMaxRequestBytes = 8192;

  common::UniqueFd listener_;
  std::vector<Connection> connections_;
};

}  // namespace credtrace::metrics
