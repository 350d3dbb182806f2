// The agent's Prometheus endpoint (metrics.enabled): GET /metrics and GET /healthz on a loopback port by default,
// served from the agent's main loop without a thread and without ever blocking it (a slow client is dropped).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "common/unique_fd.h"

namespace credtrace::metrics {

struct MetricsHandlers {
  std::function<std::string()> render_metrics;  // Prometheus text, rendered at most once per serve() call
  // /healthz: 200 while the agent's loop runs, 503 once it stops (before the loop starts nothing is served: a probe
  // waits in the listen backlog).
  std::function<bool()> ready;
};

class MetricsServer {
 public:
  // listen: "HOST:PORT" (an IPv4 address). "" on success, else what failed.
  std::string listen(const std::string& host_port);
  bool listening() const { return listener_.valid(); }
  // Accepts waiting clients, reads what requests arrived, answers complete ones and writes what each socket takes
  // now; never waits. A connection unfinished after kDeadline (request or response) is closed.
  void serve(const MetricsHandlers& handlers);
  size_t open_connections() const { return connections_.size(); }

 private:
  struct Connection {
    common::UniqueFd fd;
    std::string request;
    std::string response;  // non-empty once answered; sent from `sent` on
    size_t sent = 0;
    std::chrono::steady_clock::time_point since;
  };
  static constexpr size_t kMaxConnections = 16;
  static constexpr size_t kMaxRequestBytes = 8192;
  static constexpr std::chrono::seconds kRequestDeadline{2};  // for the request to arrive
  static constexpr std::chrono::seconds kDeadline{5};         // for the whole exchange

  void accept_new(std::chrono::steady_clock::time_point now);
  // Full: the oldest connection whose request has not arrived yet is closed for a new one (idle clients cannot hold
  // every slot). false when every slot is answering.
  bool evict_oldest_waiting();
  // false when the connection is finished (answered in full, closed by the peer, failed or past its deadline).
  bool advance(Connection& connection, const MetricsHandlers& handlers, std::string& rendered,
               std::chrono::steady_clock::time_point now);

  common::UniqueFd listener_;
  std::vector<Connection> connections_;
};

// The response to one request line (exposed for tests): /metrics, /healthz, 404 or 405.
std::string answer(const std::string& request, const MetricsHandlers& handlers, std::string& rendered);

}  // namespace credtrace::metrics
