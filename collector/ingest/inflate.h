// Bounded decompression of request bodies (deflate = zlib stream or raw deflate, gzip): stops at the output cap.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace credtrace::collector {

enum class InflateError { kNone, kBadData, kTruncated, kTooLarge, kTrailingData };

struct InflateResult {
  InflateError error = InflateError::kNone;
  std::string message;  // for the client; empty when ok
  bool ok() const { return error == InflateError::kNone; }
};

enum class Compression { kDeflate, kGzip };

// Inflates `input` into `out`, never inflating more than `max_output` + 1 bytes (the string's capacity stays
// under 2x that): a decompression bomb is cut off while inflating. The stream must end exactly at the end of the input (no truncation, no trailing bytes).
InflateResult inflate_bounded(std::string_view input, Compression compression, size_t max_output, std::string& out);

}  // namespace credtrace::collector
