// Fuzz target for mcp::parse_initialize (MCP initialize detection in the first stdin bytes of a process).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_common.h"
#include "mcp/jsonrpc_initialize.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using credtrace::fuzz::check;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto request = credtrace::mcp::parse_initialize(input);
  if (request) {
    // JSON string escapes never expand, so no reported field can be longer than the input.
    check(request->protocol_version.size() <= size, "protocol_version longer than the input");
    check(request->client_name.size() <= size, "client_name longer than the input");
    check(request->client_version.size() <= size, "client_version longer than the input");
    // Identical bytes give an identical answer.
    auto again = credtrace::mcp::parse_initialize(input);
    check(again && again->protocol_version == request->protocol_version && again->client_name == request->client_name &&
              again->client_version == request->client_version,
          "parse_initialize is not deterministic");
  }
  return 0;
}
