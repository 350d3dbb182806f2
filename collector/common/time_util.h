// Time conversions of the collector: protobuf Timestamps and query parameters to/from int64 Unix nanoseconds.
#pragma once

#include <google/protobuf/timestamp.pb.h>

#include <cstdint>
#include <optional>
#include <string>

namespace credtrace::collector {

int64_t now_ns();
// Seconds beyond +-9e9 (year 2255) are clamped there (an agent clock far off must not overflow).
int64_t timestamp_to_ns(const google::protobuf::Timestamp& ts);
// RFC 3339 in UTC with nanoseconds as needed, e.g. "2026-01-02T03:04:05.123Z".
std::string ns_to_rfc3339(int64_t ns);
// Accepts RFC 3339 ("2026-01-02T03:04:05Z") or Unix seconds ("1767322800"); nullopt when neither.
std::optional<int64_t> parse_time_param(const std::string& text);

}  // namespace credtrace::collector
