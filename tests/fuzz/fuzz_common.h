// Shared helpers for the fuzz targets: invariant checks that abort() and input splitting.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace credtrace::fuzz {

// Aborts with a message when an invariant does not hold (libFuzzer then saves the input).
inline void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "credtrace fuzz invariant violated: %s\n", what);
    std::abort();
  }
}

// Splits at any of `separators`; empty pieces are dropped.
inline std::vector<std::string> split_any(std::string_view text, std::string_view separators) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find_first_of(separators, start);
    if (end == std::string_view::npos) end = text.size();
    if (end > start) out.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// The n-th '\n'-separated line (0-based), "" when absent.
inline std::string_view line_at(std::string_view text, size_t n) {
  size_t start = 0;
  for (size_t i = 0; i < n; ++i) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) return {};
    start = nl + 1;
  }
  size_t end = text.find('\n', start);
  return text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
}

}  // namespace credtrace::fuzz
