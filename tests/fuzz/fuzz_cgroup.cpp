// Fuzz target for credtrace_identity's /proc parsers: parse_cgroup_path, select_cgroup_path and split_nul.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_common.h"
#include "identity/cgroup.h"
#include "identity/procfs.h"

namespace {

using credtrace::fuzz::check;
using namespace credtrace::identity;

bool is_lower_hex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

void check_info(const CgroupInfo& info, std::string_view path) {
  check(info.path == path, "CgroupInfo.path is not the input path");
  check(info.runtime.empty() || info.runtime == "docker" || info.runtime == "containerd" || info.runtime == "cri-o" ||
            info.runtime == "podman",
        "unknown runtime");
  check(info.container_id.empty() || (info.container_id.size() == 64 && is_lower_hex(info.container_id)),
        "container_id is not 64 lowercase hex characters");
  check(info.qos_class.empty() || info.qos_class == "guaranteed" || info.qos_class == "burstable" ||
            info.qos_class == "besteffort",
        "unknown qos_class");
  check(info.qos_class.empty() || !info.pod_uid.empty(), "qos_class without a pod uid");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);

  // The whole input as one path, and as /proc/PID/cgroup content.
  check_info(parse_cgroup_path(input), input);
  std::string selected = select_cgroup_path(input);
  check(selected.empty() || input.find(selected) != std::string_view::npos, "selected path is not in the content");
  check(selected.find('\n') == std::string::npos, "selected path spans lines");
  check_info(parse_cgroup_path(selected), selected);

  // split_nul: joined back with NULs gives the input (a trailing NUL adds no element).
  std::vector<std::string> parts = split_nul(input);
  std::string joined;
  for (size_t i = 0; i < parts.size(); ++i) {
    check(parts[i].find('\0') == std::string::npos, "split_nul element contains a NUL");
    if (i) joined.push_back('\0');
    joined += parts[i];
  }
  check(joined == input || joined + std::string(1, '\0') == input, "split_nul lost or added bytes");
  return 0;
}
