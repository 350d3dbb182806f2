// now_timestamp(): the realtime clock as a protobuf Timestamp, for every event and batch the agent stamps;
// boot_clock_ns(): CLOCK_BOOTTIME, the clock of kernel event times (bpf_ktime_get_boot_ns).
#pragma once

#include <google/protobuf/timestamp.pb.h>

#include <cstdint>
#include <ctime>

namespace credtrace::common {

inline google::protobuf::Timestamp now_timestamp() {
  struct timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  google::protobuf::Timestamp out;
  out.set_seconds(ts.tv_sec);
  out.set_nanos(static_cast<int32_t>(ts.tv_nsec));
  return out;
}

inline uint64_t boot_clock_ns() {
  struct timespec ts{};
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace credtrace::common
