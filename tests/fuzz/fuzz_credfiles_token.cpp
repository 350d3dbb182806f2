// Fuzz target for credfiles::parse_token_file (whole-file secrets) and the pem-or-token dispatch.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "credfiles/credential_file.h"
#include "credfiles/parsers.h"
#include "fuzz_credfiles_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  credtrace::credfiles::ParseResult result = credtrace::credfiles::parse_token_file(input);
  credtrace::fuzz::check_credfiles_result(input, result);
  credtrace::fuzz::check(result.findings.size() <= 1, "a token file gave more than one finding");
  using credtrace::credfiles::Format;
  credtrace::fuzz::check_credfiles_result(input, credtrace::credfiles::parse_credential_text(Format::pem, "x.key", input));
  return 0;
}
