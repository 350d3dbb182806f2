// --listen HOST:PORT: resolution to a socket address and the loopback test that gates plain HTTP.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "common/status.h"

namespace credtrace::collector {

struct ListenAddress {
  std::string host;
  uint16_t port = 0;
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  bool loopback = false;  // 127.0.0.0/8 or ::1
};

// "127.0.0.1:8443", "localhost:0", "[::1]:8443", "0.0.0.0:8443"; port 0 picks a free port.
Status parse_listen_address(const std::string& text, ListenAddress& out);

}  // namespace credtrace::collector
