// --listen HOST:PORT: resolution to a socket address and the loopback test that gates plain HTTP.
#include "http/listen_address.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>
#include <memory>

namespace credtrace::collector {
namespace {

struct AddrInfoFree {
  void operator()(addrinfo* info) const { freeaddrinfo(info); }
};

bool split_host_port(const std::string& text, std::string& host, std::string& port) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  host = text.substr(0, colon);
  port = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return !host.empty() && !port.empty();
}

bool is_loopback(const sockaddr_storage& addr) {
  if (addr.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  }
  if (addr.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
  }
  return false;
}

}  // namespace

Status parse_listen_address(const std::string& text, ListenAddress& out) {
  std::string host, port_text;
  if (!split_host_port(text, host, port_text)) return Status::error("--listen: expected HOST:PORT, got '" + text + "'");
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535)
    return Status::error("--listen: bad port '" + port_text + "'");
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
  addrinfo* raw = nullptr;
  int rc = getaddrinfo(host.c_str(), port_text.c_str(), &hints, &raw);
  if (rc != 0) return Status::error("--listen: cannot resolve '" + host + "': " + gai_strerror(rc));
  std::unique_ptr<addrinfo, AddrInfoFree> info(raw);
  std::memcpy(&out.addr, info->ai_addr, info->ai_addrlen);
  out.addr_len = info->ai_addrlen;
  out.host = host;
  out.port = static_cast<uint16_t>(port);
  out.loopback = is_loopback(out.addr);
  return {};
}

}  // namespace credtrace::collector
