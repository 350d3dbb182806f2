// Pod identity in workloads: the pod watch plan (auto/on/off, in-cluster defaults) and the fallback order of the
// workload builder on a scratch /proc and kubelet log root: API cache → kubelet log dirs → cgroup only.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include "workload/pod_watch_plan.h"
#include "workload/workload_builder.h"

namespace credtrace::workload {
namespace {

namespace fs = std::filesystem;

const std::string kUid = "6c3e0a8e-1b2f-4c4d-9e8f-0a1b2c3d4e5f";
const std::string kContainer(64, 'd');

EnvLookup env_of(std::map<std::string, std::string> values) {
  return [values](const char* name) {
    auto it = values.find(name);
    return it == values.end() ? std::string() : it->second;
  };
}

TEST(PodWatchPlan, AutoIsOnOnlyInAPodWithANodeName) {
  config::KubernetesConfig k;
  auto yes = [](const std::string&) { return true; };
  auto no = [](const std::string&) { return false; };
  EXPECT_FALSE(plan_pod_watch(k, env_of({}), yes).options);
  EXPECT_FALSE(plan_pod_watch(k, env_of({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}}), no).options);
  PodWatchPlan no_node = plan_pod_watch(k, env_of({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}}), yes);
  EXPECT_FALSE(no_node.options);
  EXPECT_NE(no_node.reason.find("no node name"), std::string::npos);
  PodWatchPlan on = plan_pod_watch(
      k, env_of({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}, {"NODE_NAME", "n1"}}),
      yes);
  ASSERT_TRUE(on.options) << on.reason;
  EXPECT_EQ(on.options->api_server, "https://10.96.0.1:443");
  EXPECT_EQ(on.options->node_name, "n1");
  EXPECT_EQ(on.options->token_file, k.token_file);
  PodWatchPlan v6 = plan_pod_watch(
      k, env_of({{"KUBERNETES_SERVICE_HOST", "fd00::1"}, {"KUBERNETES_SERVICE_PORT", "6443"}, {"NODE_NAME", "n1"}}), yes);
  ASSERT_TRUE(v6.options);
  EXPECT_EQ(v6.options->api_server, "https://[fd00::1]:6443");
  k.api_watch = config::KubeApiWatch::off;
  EXPECT_FALSE(plan_pod_watch(k, env_of({{"KUBERNETES_SERVICE_HOST", "h"}, {"NODE_NAME", "n"}}), yes).options);
  k.api_watch = config::KubeApiWatch::on;
  k.node_name = "configured";
  k.api_server = "https://api.test:6443";
  PodWatchPlan forced = plan_pod_watch(k, env_of({{"NODE_NAME", "env"}}), no);  // on: no token file yet is fine
  ASSERT_TRUE(forced.options);
  EXPECT_EQ(forced.options->node_name, "configured");
  EXPECT_EQ(forced.options->api_server, "https://api.test:6443");
}

class WorkloadPodIdentity : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("credtrace-pod-identity-" + std::to_string(::getpid()));
    fs::create_directories(root_ / "proc/4242");
    std::string uid_underscored = kUid;
    std::replace(uid_underscored.begin(), uid_underscored.end(), '-', '_');
    std::ofstream(root_ / "proc/4242/cgroup")
        << "1:name=systemd:/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" << uid_underscored
        << ".slice/cri-containerd-" << kContainer << ".scope\n0::/\n";
    fs::create_directories(root_ / "log");
  }
  void TearDown() override { fs::remove_all(root_); }

  credtrace::v1::Kubernetes build(const identity::PodCache* cache) {
    WorkloadBuilder builder("host-a", (root_ / "proc").string(), (root_ / "log").string());
    builder.set_pod_cache(cache);
    process::ProcessRecord server;
    server.pid = 4242;
    server.argv = {"node", "server.js"};
    return builder.workload_of_server(server, discovery::McpIdentity{}).kubernetes();
  }

  fs::path root_;
};

TEST_F(WorkloadPodIdentity, CgroupOnlyFillsTheUidAndSaysSo) {
  auto k = build(nullptr);
  EXPECT_EQ(k.pod_uid(), kUid);
  EXPECT_EQ(k.qos_class(), "besteffort");
  EXPECT_EQ(k.source(), "cgroup");
  EXPECT_EQ(k.namespace_(), "");
  EXPECT_EQ(k.pod(), "");
  EXPECT_EQ(k.service_account(), "");
  EXPECT_TRUE(k.labels().empty());
}

TEST_F(WorkloadPodIdentity, KubeletLogDirsWhenTheCacheDoesNotKnowThePod) {
  fs::create_directories(root_ / "log/pods" / ("agents_mcp-a_" + kUid) / "server");
  identity::PodCache empty;
  auto k = build(&empty);
  EXPECT_EQ(k.source(), "kubelet_log_dirs");
  EXPECT_EQ(k.namespace_(), "agents");
  EXPECT_EQ(k.pod(), "mcp-a");
  EXPECT_EQ(k.container(), "server");
  EXPECT_EQ(k.service_account(), "");  // the log dirs do not say: unknown stays empty
  EXPECT_EQ(k.owner_kind(), "");
}

TEST_F(WorkloadPodIdentity, ApiServerCacheWinsWithLabelsAccountAndOwner) {
  fs::create_directories(root_ / "log/pods" / ("stale_old-name_" + kUid) / "server");
  identity::PodCache cache;
  identity::CachedPod pod;
  pod.uid = kUid;
  pod.namespace_name = "agents";
  pod.name = "mcp-a-7d4b9c-x2x";
  pod.service_account = "mcp-runner";
  pod.owner_kind = "ReplicaSet";
  pod.owner_name = "mcp-a-7d4b9c";
  pod.labels = {{"app", "mcp-a"}, {"deploy-token", "<redacted:github_pat>"}};
  pod.container_names = {"server", "sidecar"};
  pod.containers[kContainer] = "server";
  cache.upsert(pod, identity::PodCache::Clock::now());
  auto k = build(&cache);
  EXPECT_EQ(k.source(), "api_server");
  EXPECT_EQ(k.pod_uid(), kUid);
  EXPECT_EQ(k.namespace_(), "agents");
  EXPECT_EQ(k.pod(), "mcp-a-7d4b9c-x2x");
  EXPECT_EQ(k.container(), "server");
  EXPECT_EQ(k.service_account(), "mcp-runner");
  EXPECT_EQ(k.owner_kind(), "ReplicaSet");
  EXPECT_EQ(k.owner_name(), "mcp-a-7d4b9c");
  EXPECT_EQ(k.labels().at("app"), "mcp-a");
  EXPECT_EQ(k.labels().at("deploy-token"), "<redacted:github_pat>");
  EXPECT_EQ(k.qos_class(), "besteffort");
}

}  // namespace
}  // namespace credtrace::workload
