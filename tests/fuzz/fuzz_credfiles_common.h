// Shared invariants of the credfiles fuzz targets: findings well-formed, no value in its own key, no content in errors.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>

#include "credfiles/finding.h"
#include "fuzz_common.h"

namespace credtrace::fuzz {

inline void check_credfiles_result(std::string_view input, const credfiles::ParseResult& result) {
  const int lines = 1 + static_cast<int>(std::count(input.begin(), input.end(), '\n'));
  for (const credfiles::Finding& f : result.findings) {
    check(f.line >= 0 && f.line <= lines + 1, "finding line outside the input");
    check(!f.type.empty(), "finding without a type");
    if (f.is_secret()) {
      check(f.value.size() > 0, "secret finding without a value");
      check(f.prefix_len <= f.value.size(), "prefix longer than the value");
      check(f.reference.empty(), "secret finding with a reference");
      if (f.value.size() >= 4) check(f.key.find(f.value.view()) == std::string::npos, "a key holds its own raw value");
    } else {
      check(f.value.size() == 0, "reference finding holds a value");
    }
  }
  // Errors name positions, never the content.
  if (input.size() >= 32 && !result.error.empty()) {
    check(result.error.find(input) == std::string::npos, "error message quotes the input");
  }
}

}  // namespace credtrace::fuzz
