// Workload identity: process facts from /proc, cgroup → container/pod/unit, exe hash, MCP identity, stable id.
#include "workload/workload_builder.h"


#include <optional>

#include "common/digest.h"
#include "identity/cgroup.h"
#include "identity/kube.h"
#include "identity/procfs.h"
#include "identity/users.h"
#include "secrets/argv_redact.h"

namespace credtrace::workload {
namespace {

google::protobuf::Timestamp to_timestamp(uint64_t unix_ns) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(static_cast<int64_t>(unix_ns / 1000000000ull));
  ts.set_nanos(static_cast<int32_t>(unix_ns % 1000000000ull));
  return ts;
}

}  // namespace

WorkloadBuilder::WorkloadBuilder(std::string host, std::string proc_root, std::string log_root)
    : host_(std::move(host)),
      proc_root_(std::move(proc_root)),
      log_root_(std::move(log_root)),
      boot_time_unix_ns_(identity::boot_time_unix_ns()) {}

credtrace::v1::Process WorkloadBuilder::process_of(const process::ProcessRecord& record) const {
  credtrace::v1::Process p;
  p.set_pid(record.pid);
  p.set_ppid(record.ppid);
  p.set_uid(record.uid);
  p.set_user(identity::user_name_for_uid(record.uid));
  p.set_exe(record.exe);
  for (const auto& arg : secrets::redact_argv(record.argv)) p.add_args(arg);
  p.set_args_truncated(record.args_truncated);
  if (record.start_boottime_ns) *p.mutable_start_time() = to_timestamp(boot_time_unix_ns_ + record.start_boottime_ns);
  p.set_cwd(identity::read_cwd(static_cast<int32_t>(record.pid), proc_root_));
  return p;
}

void WorkloadBuilder::fill_cgroup(credtrace::v1::Workload& w, uint32_t pid) const {
  std::string path = identity::select_cgroup_path(identity::read_cgroup_file(static_cast<int32_t>(pid), proc_root_));
  identity::CgroupInfo cg = identity::parse_cgroup_path(path);
  w.set_cgroup(cg.path);
  if (!cg.container_id.empty()) {
    w.mutable_container()->set_runtime(cg.runtime);
    w.mutable_container()->set_id(cg.container_id);
  }
  fill_kubernetes(w, cg.pod_uid, cg.container_id, cg.qos_class);
  if (!cg.systemd_unit.empty() || !cg.systemd_slice.empty() || !cg.systemd_user_unit.empty()) {
    w.mutable_systemd()->set_unit(cg.systemd_unit);
    w.mutable_systemd()->set_slice(cg.systemd_slice);
    w.mutable_systemd()->set_user_unit(cg.systemd_user_unit);
  }
}

// Pod identity, best source first: the API server's pod (through the watch cache), the kubelet's log directories,
// the cgroup path alone (pod uid and QoS class). What no source said stays empty.
void WorkloadBuilder::fill_kubernetes(credtrace::v1::Workload& w, const std::string& pod_uid,
                                      const std::string& container_id, const std::string& qos_class) const {
  std::optional<identity::PodIdentity> api;
  if (pod_cache_ && (!pod_uid.empty() || !container_id.empty())) api = pod_cache_->lookup(pod_uid, container_id);
  if (pod_uid.empty() && !api) return;
  auto* k8s = w.mutable_kubernetes();
  k8s->set_pod_uid(pod_uid);
  k8s->set_qos_class(qos_class);
  k8s->set_source("cgroup");
  if (api) {
    const identity::CachedPod& pod = api->pod;
    k8s->set_pod_uid(pod.uid);
    if (qos_class.empty()) k8s->set_qos_class(pod.qos_class);
    k8s->set_namespace_(pod.namespace_name);
    k8s->set_pod(pod.name);
    k8s->set_container(api->container_name);
    k8s->set_service_account(pod.service_account);
    k8s->set_owner_kind(pod.owner_kind);
    k8s->set_owner_name(pod.owner_name);
    for (const auto& [key, value] : pod.labels) (*k8s->mutable_labels())[key] = value;  // values masked at the cache
    k8s->set_labels_truncated(pod.labels_truncated);
    k8s->set_source("api_server");
    return;
  }
  if (auto pod = identity::lookup_pod(pod_uid, container_id, log_root_)) {
    k8s->set_namespace_(pod->namespace_name);
    k8s->set_pod(pod->pod_name);
    k8s->set_container(pod->container_name);
    k8s->set_source(pod->source);
  }
}

credtrace::v1::Workload WorkloadBuilder::workload_of_server(const process::ProcessRecord& server,
                                                            const discovery::McpIdentity& mcp) {
  credtrace::v1::Workload w;
  w.set_host(host_);
  w.set_pid(server.pid);
  w.set_uid(server.uid);
  w.set_user(identity::user_name_for_uid(server.uid));
  std::string exe = identity::read_exe(static_cast<int32_t>(server.pid), proc_root_);
  w.set_exe(exe.empty() ? server.exe : exe);
  if (auto digest = exe_hasher_.sha256_of(proc_root_ + "/" + std::to_string(server.pid) + "/exe")) w.set_exe_sha256(*digest);
  for (const auto& arg : secrets::redact_argv(server.argv)) w.add_args(arg);
  w.set_cwd(identity::read_cwd(static_cast<int32_t>(server.pid), proc_root_));
  fill_cgroup(w, server.pid);
  auto* m = w.mutable_mcp();
  m->set_server_name(mcp.server_name);
  m->set_client(mcp.client);
  m->set_config_path(mcp.config_path);
  m->set_transport(mcp.transport);
  m->set_discovered_by(mcp.discovered_by);
  m->set_package(mcp.package);
  m->set_client_info(mcp.client_info);
  w.set_id(derive_workload_id(w));
  return w;
}

std::string WorkloadBuilder::derive_workload_id(const credtrace::v1::Workload& w) {
  std::string key;
  auto add = [&key](const std::string& part) {
    key += part;
    key.push_back('\x1f');
  };
  add(w.host());
  add(std::to_string(w.uid()));
  add(w.mcp().server_name());
  add(w.mcp().client());
  add(w.mcp().config_path());
  add(w.mcp().package());
  add(w.kubernetes().namespace_());
  add(w.kubernetes().container());
  add(w.container().runtime());
  add(w.systemd().unit());
  add(w.systemd().user_unit());
  return "wl_" + common::sha256_hex(key).substr(0, 20);
}

}  // namespace credtrace::workload
