// Kubernetes pod identity (namespace, pod, container names) from the kubelet's log directories.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace credtrace::identity {

struct PodInfo {
  std::string uid;             // pod UID, dashes form
  std::string namespace_name;  // e.g. "kube-system"
  std::string pod_name;        // e.g. "coredns-5d78c9869d-abcde"
  std::string container_name;  // "" when only the pod could be resolved and it has several containers
  std::string source;          // where the names came from: "kubelet_log_dirs"
};

// Looks in LOG_ROOT/containers (symlinks named <pod>_<namespace>_<container>-<containerid>.log) by
// container id, then LOG_ROOT/pods/<namespace>_<pod>_<uid>/<container>/ by pod uid.
// Either key may be empty. nullopt when nothing matches.
std::optional<PodInfo> lookup_pod(std::string_view pod_uid, std::string_view container_id,
                                  const std::string& log_root = "/var/log");

}  // namespace credtrace::identity
