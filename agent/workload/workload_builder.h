// Workload identity: turns a process record plus /proc and cgroup facts into the exported Process and Workload.
#pragma once

#include <string>

#include "credtrace/v1/events.pb.h"
#include "discovery/mcp_discovery.h"
#include "identity/exe_hash.h"
#include "identity/pod_cache.h"
#include "tracking/process_table.h"

namespace credtrace::workload {

class WorkloadBuilder {
 public:
  WorkloadBuilder(std::string host, std::string proc_root, std::string log_root = "/var/log");

  // The node's pods from the API server watch (kubernetes.api_watch); null: kubelet log dirs and cgroup only.
  void set_pod_cache(const identity::PodCache* cache) { pod_cache_ = cache; }

  credtrace::v1::Process process_of(const process::ProcessRecord& record) const;
  // The identity of an MCP server's workload; descendants share their server's workload.
  credtrace::v1::Workload workload_of_server(const process::ProcessRecord& server, const discovery::McpIdentity& mcp);

  // Stable across restarts of the same server: no pid, time, container id or hash in it.
  static std::string derive_workload_id(const credtrace::v1::Workload& workload);

 private:
  void fill_cgroup(credtrace::v1::Workload& workload, uint32_t pid) const;
  void fill_kubernetes(credtrace::v1::Workload& workload, const std::string& pod_uid, const std::string& container_id,
                       const std::string& qos_class) const;

  std::string host_;
  std::string proc_root_;
  std::string log_root_;
  uint64_t boot_time_unix_ns_;
  identity::ExeHasher exe_hasher_;
  const identity::PodCache* pod_cache_ = nullptr;
};

}  // namespace credtrace::workload
