// A minimal HTTP/1.0 responder for /metrics and /healthz: non-blocking sockets advanced by the agent's loop, bounded
// connections, a per-connection output buffer and a deadline so a slow reader never stalls the loop.
#include "metrics/metrics_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace credtrace::metrics {
namespace {

std::string response(const std::string& status, const std::string& type, const std::string& body) {
  return "HTTP/1.0 " + status + "\r\nContent-Type: " + type + "\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + body;
}

bool starts_with_path(const std::string& request, const std::string& method_and_path) {
  if (request.rfind(method_and_path, 0) != 0) return false;
  const char next = request.size() > method_and_path.size() ? request[method_and_path.size()] : '\0';
  return next == ' ' || next == '?';
}

bool request_complete(const std::string& request) {
  return request.find("\r\n\r\n") != std::string::npos || request.find("\n\n") != std::string::npos;
}

}  // namespace

std::string answer(const std::string& request, const MetricsHandlers& handlers, std::string& rendered) {
  if (starts_with_path(request, "GET /metrics")) {
    if (rendered.empty() && handlers.render_metrics) rendered = handlers.render_metrics();
    return response("200 OK", "text/plain; version=0.0.4; charset=utf-8", rendered);
  }
  if (starts_with_path(request, "GET /healthz")) {
    const bool ready = handlers.ready && handlers.ready();
    return ready ? response("200 OK", "text/plain", "ready\n") : response("503 Service Unavailable", "text/plain", "starting\n");
  }
  if (request.rfind("GET ", 0) != 0) return response("405 Method Not Allowed", "text/plain", "GET only\n");
  return response("404 Not Found", "text/plain", "/metrics or /healthz\n");
}

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

bool MetricsServer::evict_oldest_waiting() {
  auto oldest = connections_.end();
  for (auto it = connections_.begin(); it != connections_.end(); ++it)
    if (it->response.empty() && (oldest == connections_.end() || it->since < oldest->since)) oldest = it;
  if (oldest == connections_.end()) return false;
  connections_.erase(oldest);
  return true;
}

void MetricsServer::accept_new(std::chrono::steady_clock::time_point now) {
  for (int accepted = 0; accepted < static_cast<int>(kMaxConnections); ++accepted) {
    if (connections_.size() >= kMaxConnections && !evict_oldest_waiting()) return;
    const int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    connections_.push_back({common::UniqueFd(fd), "", "", 0, now});
  }
}

bool MetricsServer::advance(Connection& c, const MetricsHandlers& handlers, std::string& rendered,
                            std::chrono::steady_clock::time_point now) {
  if (now - c.since > kDeadline || (c.response.empty() && now - c.since > kRequestDeadline)) return false;
  if (c.response.empty()) {
    char buf[2048];
    ssize_t n = 0;
    while (c.request.size() < kMaxRequestBytes && (n = ::recv(c.fd.get(), buf, sizeof(buf), MSG_DONTWAIT)) > 0)
      c.request.append(buf, static_cast<size_t>(n));
    if (request_complete(c.request)) c.response = answer(c.request, handlers, rendered);
    else if (c.request.size() >= kMaxRequestBytes) c.response = response("431 Request Header Fields Too Large", "text/plain", "");
    else if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) return false;
    else return true;  // waits for the rest of the request
  }
  while (c.sent < c.response.size()) {
    const ssize_t n = ::send(c.fd.get(), c.response.data() + c.sent, c.response.size() - c.sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) c.sent += static_cast<size_t>(n);
    else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return true;  // the rest next turn
    else return false;
  }
  // Answered in full: end our side first and discard what the client still sent, so closing does not reset the
  // connection (a reset can destroy the response before the client reads it).
  ::shutdown(c.fd.get(), SHUT_WR);
  char discard[2048];
  while (::recv(c.fd.get(), discard, sizeof(discard), MSG_DONTWAIT) > 0) {
  }
  return false;
}

void MetricsServer::serve(const MetricsHandlers& handlers) {
  if (!listening()) return;
  const auto now = std::chrono::steady_clock::now();
  accept_new(now);
  std::string rendered;  // one render per turn, whatever the number of scrapes
  for (auto it = connections_.begin(); it != connections_.end();)
    it = advance(*it, handlers, rendered, now) ? it + 1 : connections_.erase(it);
}

}  // namespace credtrace::metrics
