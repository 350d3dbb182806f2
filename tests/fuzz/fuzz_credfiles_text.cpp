// Fuzz target for credfiles::parse_text: plain text, with the shared finding invariants.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "credfiles/parsers.h"
#include "fuzz_credfiles_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  credtrace::fuzz::check_credfiles_result(input, credtrace::credfiles::parse_text(input));
  return 0;
}
