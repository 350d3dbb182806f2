// Whether and how the agent watches its node's pods on the API server: kubernetes.* config plus the in-cluster
// environment (KUBERNETES_SERVICE_HOST/PORT, NODE_NAME) → PodWatchOptions, or the reason it stays off.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "config/agent_config.h"
#include "identity/kube_api.h"

namespace credtrace::workload {

struct PodWatchPlan {
  std::optional<identity::PodWatchOptions> options;  // empty: no watch
  std::string reason;                                // why there is none (for the log), "" when on
};

using EnvLookup = std::function<std::string(const char* name)>;
using FileExists = std::function<bool(const std::string& path)>;

// api_watch off → none; auto → on only inside a pod (KUBERNETES_SERVICE_HOST set, token file present) with a node
// name; on → always (config validation already required a node name and an API server).
PodWatchPlan plan_pod_watch(const config::KubernetesConfig& config, const EnvLookup& env, const FileExists& exists);
// The same with the process environment and the file system.
PodWatchPlan plan_pod_watch(const config::KubernetesConfig& config);

}  // namespace credtrace::workload
