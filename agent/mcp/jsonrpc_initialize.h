// Public API: recognising an MCP "initialize" request in the first bytes a process read on stdin.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace credtrace::mcp {

struct InitializeRequest {
  std::string protocol_version;  // params.protocolVersion
  std::string client_name;       // params.clientInfo.name
  std::string client_version;    // params.clientInfo.version
};

// True (a value) only for a JSON-RPC 2.0 request {"jsonrpc":"2.0","id":…,"method":"initialize",…}, framed
// as newline-delimited JSON (MCP stdio) or with Content-Length headers (LSP style). When the capture is
// cut inside the message, a strict scan of the prefix must find "jsonrpc":"2.0" and
// "method":"initialize" as top-level members (no "result"/"error"); fields present are reported.
std::optional<InitializeRequest> parse_initialize(std::string_view first_bytes);

}  // namespace credtrace::mcp
