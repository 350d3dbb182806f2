// Time conversions of the collector: protobuf Timestamps and query parameters to/from int64 Unix nanoseconds.
#include "common/time_util.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <charconv>
#include <chrono>

namespace credtrace::collector {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t timestamp_to_ns(const google::protobuf::Timestamp& ts) {
  constexpr int64_t kMaxSeconds = 9'000'000'000LL;  // year 2255: seconds * 1e9 + nanos stays within int64
  int64_t seconds = std::clamp<int64_t>(ts.seconds(), -kMaxSeconds, kMaxSeconds);
  return seconds * 1'000'000'000LL + ts.nanos();
}

std::string ns_to_rfc3339(int64_t ns) {
  return google::protobuf::util::TimeUtil::ToString(google::protobuf::util::TimeUtil::NanosecondsToTimestamp(ns));
}

std::optional<int64_t> parse_time_param(const std::string& text) {
  int64_t seconds = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec == std::errc() && end == text.data() + text.size() && seconds >= 0 && seconds < 9'000'000'000LL)
    return seconds * 1'000'000'000LL;
  google::protobuf::Timestamp ts;
  if (!google::protobuf::util::TimeUtil::FromString(text, &ts)) return std::nullopt;
  return timestamp_to_ns(ts);
}

}  // namespace credtrace::collector
