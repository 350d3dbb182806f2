// A minimal HTTP/1.0 responder for /metrics: non-blocking sockets polled by the agent's loop, bounded connections.
#include "metrics/metrics_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace credtrace::metrics {
namespace {

void respond(int fd, const std::string& status, const std::string& type, const std::string& body) {
  const std::string response = "HTTP/1.0 " + status + "\r\nContent-Type: " + type +
                               "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  size_t sent = 0;
  for (int tries = 0; sent < response.size() && tries < 100; ++tries) {
    const ssize_t n = ::send(fd, response.data() + sent, response.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) sent += static_cast<size_t>(n);
    else if (n < 0 && errno != EAGAIN && errno != EINTR) return;
    else ::usleep(1000);
  }
}

}  // namespace

std::string MetricsServer::listen(const std::string& host_port) {
  const size_t colon = host_port.rfind(':');
  if (colon == std::string::npos) return "metrics.listen: expected HOST:PORT, got '" + host_port + "'";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  const std::string host = host_port.substr(0, colon);
  const long port = std::strtol(host_port.c_str() + colon + 1, nullptr, 10);
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1 || port <= 0 || port > 65535)
    return "metrics.listen: expected IPv4-ADDRESS:PORT, got '" + host_port + "'";
  addr.sin_port = htons(static_cast<uint16_t>(port));
  common::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  const int one = 1;
  if (!fd || ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
      ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(fd.get(), 16) != 0)
    return "cannot listen on " + host_port + " for metrics: " + std::strerror(errno);
  listener_ = std::move(fd);
  return "";
}

void MetricsServer::serve(const std::function<std::string()>& render) {
  if (!listening()) return;
  const auto now = std::chrono::steady_clock::now();
  while (connections_.size() < kMaxConnections) {
    const int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) break;
    connections_.push_back({common::UniqueFd(fd), "", now});
  }
  for (auto it = connections_.begin(); it != connections_.end();) {
    char buf[2048];
    ssize_t n;
    while ((n = ::recv(it->fd.get(), buf, sizeof(buf), MSG_DONTWAIT)) > 0 && it->request.size() < kMaxRequestBytes)
      it->request.append(buf, static_cast<size_t>(n));
    const bool complete = it->request.find("\r\n\r\n") != std::string::npos || it->request.find("\n\n") != std::string::npos;
    const bool closed = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
    if (!complete && !closed && it->request.size() < kMaxRequestBytes && now - it->since < std::chrono::seconds(2)) {
      ++it;
      continue;
    }
    if (complete) {
      const bool metrics = it->request.rfind("GET /metrics ", 0) == 0 || it->request.rfind("GET /metrics?", 0) == 0;
      if (metrics) respond(it->fd.get(), "200 OK", "text/plain; version=0.0.4; charset=utf-8", render());
      else respond(it->fd.get(), "404 Not Found", "text/plain", "only /metrics\n");
    }
    it = connections_.erase(it);
  }
}

}  // namespace credtrace::metrics
