// now_timestamp(): the realtime clock as a protobuf Timestamp, for every event and batch the agent stamps.
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

}  // namespace credtrace::common
