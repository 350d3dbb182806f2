// PodCache and pod_from_json: bounds with counted evictions, deleted pods' grace period, lookups by uid or container
// id, labels bounded and secret-masked, the controller owner, runtime prefixes stripped.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "identity/pod_cache.h"
#include "identity/pod_json.h"

namespace credtrace::identity {
namespace {

using namespace std::chrono_literals;
using Clock = PodCache::Clock;

CachedPod pod(const std::string& uid, const std::string& name) {
  CachedPod p;
  p.uid = uid;
  p.name = name;
  p.namespace_name = "ns";
  p.container_names = {"main"};
  return p;
}

TEST(PodCache, EvictsDeletedPodsFirstThenTheOldestAndCountsThem) {
  PodCache cache({.max_pods = 2, .deleted_grace = 60s});
  const auto t0 = Clock::now();
  cache.upsert(pod("u1", "one"), t0);
  cache.upsert(pod("u2", "two"), t0);
  cache.mark_deleted("u2", t0);
  cache.upsert(pod("u3", "three"), t0);  // u2 (deleted) goes, not u1
  EXPECT_TRUE(cache.lookup("u1", "", t0));
  EXPECT_FALSE(cache.lookup("u2", "", t0));
  cache.upsert(pod("u4", "four"), t0);  // no deleted pod: the least recently written (u1) goes
  EXPECT_FALSE(cache.lookup("u1", "", t0));
  EXPECT_TRUE(cache.lookup("u3", "", t0));
  EXPECT_EQ(cache.evictions(), 2u);
  EXPECT_EQ(cache.size(), 2u);
}

TEST(PodCache, DeletedPodsAnswerDuringTheGracePeriodOnly) {
  PodCache cache({.max_pods = 10, .deleted_grace = 30s});
  const auto t0 = Clock::now();
  cache.upsert(pod("6c3e0a8e-1b2f-4c4d-9e8f-0a1b2c3d4e5f", "p"), t0);
  cache.mark_deleted("6c3e0a8e-1b2f-4c4d-9e8f-0a1b2c3d4e5f", t0);
  EXPECT_EQ(cache.size(), 0u);
  auto hit = cache.lookup("6c3e0a8e_1b2f_4c4d_9e8f_0a1b2c3d4e5f", "", t0 + 29s);  // the cgroup's underscore form
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->container_name, "main");  // a one-container pod names its container
  EXPECT_FALSE(cache.lookup("6c3e0a8e-1b2f-4c4d-9e8f-0a1b2c3d4e5f", "", t0 + 31s));
}

TEST(PodCache, ListReplacesAndMarksMissingPodsDeleted) {
  PodCache cache({.max_pods = 10, .deleted_grace = 10s});
  const auto t0 = Clock::now();
  cache.upsert(pod("u1", "one"), t0);
  std::vector<CachedPod> listed{pod("u2", "two")};
  cache.replace_all(std::move(listed), t0 + 1s);
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_TRUE(cache.lookup("u1", "", t0 + 5s));   // in its grace period
  EXPECT_FALSE(cache.lookup("u1", "", t0 + 12s));
}

TEST(PodCache, LooksUpByContainerIdAloneAndNamesOnlyKnownContainers) {
  PodCache cache;
  CachedPod p = pod("u1", "two-containers");
  p.container_names = {"server", "sidecar"};
  p.containers[std::string(64, 'a')] = "server";
  cache.upsert(p, Clock::now());
  auto by_id = cache.lookup("", std::string(64, 'a'));
  ASSERT_TRUE(by_id);
  EXPECT_EQ(by_id->pod.uid, "u1");
  EXPECT_EQ(by_id->container_name, "server");
  auto unknown_id = cache.lookup("u1", std::string(64, 'b'));
  ASSERT_TRUE(unknown_id);
  EXPECT_EQ(unknown_id->container_name, "");  // two containers, id not reported yet: unknown stays empty
}

TEST(PodJson, KeepsIdentityFactsMasksSecretLabelsAndBoundsThem) {
  const std::string pat = "ghp_" + std::string("Zq8") + "LmN0pQrStUvWxYz0123456789AbCdEfGh";
  nlohmann::json object = {
      {"metadata",
       {{"uid", "u1"},
        {"name", "web-7d4b9c-x2x"},
        {"namespace", "prod"},
        {"labels", {{"app", "web"}, {"team", pat}, {"api-key", "plain-looking-value"}, {"big", std::string(600, 'x')}}},
        {"ownerReferences",
         nlohmann::json::array({{{"kind", "Node"}, {"name", "n1"}},  // not the controller
                                {{"kind", "ReplicaSet"}, {"name", "web-7d4b9c"}, {"controller", true}}})}}},
      {"spec", {{"serviceAccountName", "web-sa"}, {"initContainers", {{{"name", "init"}}}}, {"containers", {{{"name", "web"}}}}}},
      {"status",
       {{"qosClass", "Burstable"},
        {"containerStatuses", {{{"name", "web"}, {"containerID", "cri-o://" + std::string(64, 'c')}}}},
        {"initContainerStatuses", {{{"name", "init"}, {"containerID", "containerd://short"}}}}}}};
  uint64_t dropped = 0;
  auto p = pod_from_json(object, {.max_labels = 3, .max_label_bytes = 512}, &dropped);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->service_account, "web-sa");
  EXPECT_EQ(p->owner_kind, "ReplicaSet");
  EXPECT_EQ(p->owner_name, "web-7d4b9c");
  EXPECT_EQ(p->qos_class, "burstable");
  EXPECT_EQ(p->container_names, (std::vector<std::string>{"init", "web"}));
  ASSERT_EQ(p->containers.size(), 1u);  // "containerd://short" is no container id
  EXPECT_EQ(p->containers.at(std::string(64, 'c')), "web");
  std::map<std::string, std::string> labels(p->labels.begin(), p->labels.end());
  EXPECT_EQ(labels["app"], "web");
  EXPECT_EQ(labels["team"], "<redacted:github_pat>");
  EXPECT_EQ(labels["api-key"].rfind("<redacted:", 0), 0u) << labels["api-key"];  // the key names a secret
  EXPECT_FALSE(labels.count("big"));
  EXPECT_TRUE(p->labels_truncated);
  EXPECT_EQ(dropped, 1u);
  for (const auto& [key, value] : p->labels) EXPECT_EQ(value.find(pat), std::string::npos);
  EXPECT_FALSE(pod_from_json(nlohmann::json{{"metadata", {{"name", "no-uid"}}}}, {}));
}

TEST(PodJson, StripsRuntimePrefixes) {
  EXPECT_EQ(strip_runtime_prefix("containerd://" + std::string(64, 'a')), std::string(64, 'a'));
  EXPECT_EQ(strip_runtime_prefix("docker://" + std::string(64, 'b')), std::string(64, 'b'));
  EXPECT_EQ(strip_runtime_prefix(std::string(64, 'b')), "");
  EXPECT_EQ(strip_runtime_prefix("containerd://XYZ"), "");
}

}  // namespace
}  // namespace credtrace::identity
