// Cgroup path → container runtime/id, Kubernetes pod uid/QoS and systemd unit/slice; /proc/PID/cgroup line selection.
#pragma once

#include <string>
#include <string_view>

namespace credtrace::identity {

struct CgroupInfo {
  std::string path;               // the cgroup path as read (v2 unified path, or v1 name=systemd / pids / cpu path)
  std::string runtime;            // "docker", "containerd", "cri-o", "podman", "" when not a container
  std::string container_id;       // 64-hex id when found (innermost container wins)
  std::string pod_uid;            // Kubernetes pod UID, dashes form
  std::string qos_class;          // "guaranteed", "burstable", "besteffort" for pods, "" otherwise
  std::string systemd_unit;       // innermost system-manager *.service / *.scope that is not a container scope
  std::string systemd_slice;      // innermost system-manager slice, e.g. "system.slice", "user-1000.slice"
  std::string systemd_user_unit;  // innermost unit inside user@UID.service, e.g. "app.service"
};

// Never fails: unknown shapes give a CgroupInfo with only `path` set.
CgroupInfo parse_cgroup_path(std::string_view path);

// Picks one path from the content of /proc/PID/cgroup: the v2 "0::" line when the host is pure v2
// or the process sits below the unified root; otherwise v1 name=systemd, then pids, then cpu/cpuacct,
// then memory, then any other hierarchy. "" when the content has no parsable line.
std::string select_cgroup_path(std::string_view proc_pid_cgroup_content);

}  // namespace credtrace::identity
