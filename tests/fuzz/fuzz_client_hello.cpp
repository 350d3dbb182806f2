// Fuzz target for credtrace_protocols: the ClientHello server-name reader (bounds at every length, a found name is
// printable and at most 255 bytes).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_common.h"
#include "protocols/tls/client_hello.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (auto name = credtrace::protocols::client_hello_server_name(bytes)) {
    credtrace::fuzz::check(!name->empty() && name->size() <= 255, "server name length");
    for (char c : *name) credtrace::fuzz::check(c >= '!' && c <= '~', "server name byte");
  }
  return 0;
}
