// Fuzz target for credtrace_secrets: scan_text, classify_value, decode_jwt, is_placeholder and redact_argv.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_common.h"
#include "secrets/argv_redact.h"
#include "secrets/detectors.h"
#include "secrets/jwt.h"
#include "secrets/placeholders.h"

namespace {

using credtrace::fuzz::check;
using namespace credtrace::secrets;

void check_detection(const Detection& d, size_t input_size) {
  check(d.length > 0, "empty detection");
  check(d.offset <= input_size && d.length <= input_size - d.offset, "detection outside the input");
  check(d.prefix_len <= d.length, "prefix longer than the detection");
  check(!d.type.empty(), "detection without a type");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);

  // scan_text: every detection inside the input, left to right, non-overlapping.
  size_t end_of_previous = 0;
  for (const Detection& d : scan_text(input)) {
    check_detection(d, size);
    check(d.offset >= end_of_previous, "scan_text detections overlap or are out of order");
    end_of_previous = d.offset + d.length;
  }

  // classify_value on the whole input; a whole-value credential is also what scan_text finds at that spot.
  if (auto d = classify_value(input)) {
    check_detection(*d, size);
    std::string_view token = input.substr(d->offset, d->length);
    auto again = classify_value(token);
    check(again && again->type == d->type && again->offset == 0 && again->length == token.size(),
          "classify_value of the trimmed credential differs");
  }

  // decode_jwt: only three-part tokens of at most 64 KiB decode.
  if (auto claims = decode_jwt(input)) {
    check(size <= 64 * 1024, "decode_jwt accepted a token over 64 KiB");
    size_t dots = 0;
    for (char c : input) dots += (c == '.');
    check(dots == 2, "decode_jwt accepted a token without exactly three parts");
  }

  (void)is_placeholder(input);

  // redact_argv over the input split into args.
  std::vector<std::string> argv = credtrace::fuzz::split_any(input, std::string_view(" \t\n\0", 4));
  std::vector<std::string> redacted = redact_argv(argv);
  check(redacted.size() == argv.size(), "redact_argv changed the number of args");
  for (size_t i = 0; i < argv.size(); ++i) {
    (void)is_placeholder(argv[i]);
    auto typed = classify_value(argv[i]);
    if (!typed || is_placeholder(argv[i])) continue;
    std::string_view secret = std::string_view(argv[i]).substr(typed->offset, typed->length);
    if (redacted[i].find(secret) != std::string::npos) {
      std::fprintf(stderr, "arg %zu typed %.*s survived redaction\n", i, static_cast<int>(typed->type.size()),
                   typed->type.data());
      check(false, "a secret typed by classify_value survived redact_argv");
    }
  }
  return 0;
}
