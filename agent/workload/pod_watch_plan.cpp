// Pod watch planning: defaults from the in-cluster environment, auto detection, the reason when off.
#include "workload/pod_watch_plan.h"

#include <unistd.h>

#include <cstdlib>

namespace credtrace::workload {

PodWatchPlan plan_pod_watch(const config::KubernetesConfig& config, const EnvLookup& env, const FileExists& exists) {
  PodWatchPlan plan;
  if (config.api_watch == config::KubeApiWatch::off) {
    plan.reason = "kubernetes.api_watch is off";
    return plan;
  }
  const std::string service_host = env("KUBERNETES_SERVICE_HOST");
  if (config.api_watch == config::KubeApiWatch::automatic && (service_host.empty() || !exists(config.token_file))) {
    plan.reason = "not in a pod (no KUBERNETES_SERVICE_HOST or no " + config.token_file + ")";
    return plan;
  }
  identity::PodWatchOptions options;
  options.node_name = config.node_name.empty() ? env("NODE_NAME") : config.node_name;
  options.api_server = config.api_server;
  if (options.api_server.empty() && !service_host.empty()) {
    const std::string port = env("KUBERNETES_SERVICE_PORT");
    const bool ipv6 = service_host.find(':') != std::string::npos;
    options.api_server = "https://" + (ipv6 ? "[" + service_host + "]" : service_host) + ":" +
                         (port.empty() ? "443" : port);
  }
  if (options.node_name.empty()) {
    plan.reason = "kubernetes.api_watch: no node name (set kubernetes.node_name, or NODE_NAME from spec.nodeName)";
    return plan;
  }
  if (options.api_server.empty()) {
    plan.reason = "kubernetes.api_watch: no API server (set kubernetes.api_server)";
    return plan;
  }
  options.token_file = config.token_file;
  options.ca_file = config.ca_file;
  plan.options = std::move(options);
  return plan;
}

PodWatchPlan plan_pod_watch(const config::KubernetesConfig& config) {
  return plan_pod_watch(
      config,
      [](const char* name) {
        const char* value = std::getenv(name);
        return std::string(value ? value : "");
      },
      [](const std::string& path) { return ::access(path.c_str(), F_OK) == 0; });
}

}  // namespace credtrace::workload
