// Workload identity: turns a process record plus /proc and cgroup facts into the exported Process and Workload.
#pragma once

#include <string>

#include "credtrace/v1/events.pb.h"
#include "discovery/mcp_discovery.h"
#include "identity/exe_hash.h"
#include "tracking/process_table.h"

namespace credtrace::workload {

class WorkloadBuilder {
 public:
  WorkloadBuilder(std::string host, std::string proc_root, std::string log_root = "/var/log");

  credtrace::v1::Process process_of(const process::ProcessRecord& record) const;
  // The identity of an MCP server's workload; descendants share their server's workload.
  credtrace::v1::Workload workload_of_server(const process::ProcessRecord& server, const discovery::McpIdentity& mcp);

  // Stable across restarts of the same server: no pid, time, container id or hash in it.
  static std::string derive_workload_id(const credtrace::v1::Workload& workload);

 private:
  void fill_cgroup(credtrace::v1::Workload& workload, uint32_t pid) const;

  std::string host_;
  std::string proc_root_;
  std::string log_root_;
  uint64_t boot_time_unix_ns_;
  identity::ExeHasher exe_hasher_;
};

}  // namespace credtrace::workload
