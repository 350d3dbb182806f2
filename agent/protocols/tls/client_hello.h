// The server name (SNI) a TLS ClientHello asks for, read from the first bytes a client writes to its socket: the name
// for TLS implementations whose SNI no probe reads (Go crypto/tls, BoringSSL in Bun).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace credtrace::protocols {

// The host_name of the server_name extension when `bytes` start with a TLS handshake record holding a ClientHello
// (TLS 1.0-1.3 record framing), else nullopt. Bounds-checked at every length; a record cut before the extension
// gives nullopt, never a partial name. Names longer than 255 bytes or holding bytes outside [!-~] are refused.
std::optional<std::string> client_hello_server_name(std::string_view bytes);

}  // namespace credtrace::protocols
