// Tests for pod lookup through a fake kubelet log tree (LOG_ROOT/containers symlinks, LOG_ROOT/pods dirs).
#include "identity/kube.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "temp_dir.h"

namespace credtrace::identity {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

const std::string kUid = "5b6d1b7a-3c2e-4f8a-9d10-2b3c4d5e6f70";
const std::string kOtherUid = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const std::string kCid = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb";
const std::string kSidecarCid = "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d";

// Lays out what kubelet writes for pod mcp/github-mcp-7d9f8b-x2x4z with containers "server" and "proxy".
class KubeLogTree : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    root_ = dir_.path().string();
    add_container("github-mcp-7d9f8b-x2x4z", "mcp", kUid, "server", kCid);
    add_container("github-mcp-7d9f8b-x2x4z", "mcp", kUid, "proxy", kSidecarCid);
    dir_.write("log/pods/kube-system_coredns-5d78c9869d-abcde_" + kOtherUid + "/coredns/0.log", "x\n");
    root_ = (dir_.path() / "log").string();
  }

  void add_container(const std::string& pod, const std::string& ns, const std::string& uid,
                     const std::string& container, const std::string& cid) {
    std::string pod_dir = "log/pods/" + ns + "_" + pod + "_" + uid;
    fs::path log = dir_.write(pod_dir + "/" + container + "/0.log", "line\n");
    fs::create_directories(dir_.path() / "log/containers");
    fs::create_symlink(log, dir_.path() / "log/containers" / (pod + "_" + ns + "_" + container + "-" + cid + ".log"));
  }

  TempDir dir_;
  std::string root_;
};

TEST_F(KubeLogTree, FindsByContainerId) {
  auto info = lookup_pod("", kCid, root_);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->pod_name, "github-mcp-7d9f8b-x2x4z");
  EXPECT_EQ(info->namespace_name, "mcp");
  EXPECT_EQ(info->container_name, "server");
  EXPECT_EQ(info->uid, kUid) << "uid recovered from the symlink target";
  EXPECT_EQ(info->source, "kubelet_log_dirs");
}

TEST_F(KubeLogTree, ContainerIdPicksTheRightContainerOfTheSamePod) {
  auto info = lookup_pod(kUid, kSidecarCid, root_);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->container_name, "proxy");
  EXPECT_EQ(info->uid, kUid);
}

TEST_F(KubeLogTree, FallsBackToPodUidWhenContainerUnknown) {
  const std::string unknown_cid(64, 'f');
  auto info = lookup_pod(kOtherUid, unknown_cid, root_);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->namespace_name, "kube-system");
  EXPECT_EQ(info->pod_name, "coredns-5d78c9869d-abcde");
  EXPECT_EQ(info->container_name, "coredns") << "single container pod";
  EXPECT_EQ(info->uid, kOtherUid);
  EXPECT_EQ(info->source, "kubelet_log_dirs");
}

TEST_F(KubeLogTree, PodUidWithSeveralContainersLeavesContainerEmpty) {
  auto info = lookup_pod(kUid, "", root_);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->pod_name, "github-mcp-7d9f8b-x2x4z");
  EXPECT_EQ(info->namespace_name, "mcp");
  EXPECT_EQ(info->container_name, "");
}

TEST_F(KubeLogTree, AcceptsUnderscoreUidForm) {
  std::string underscores = kOtherUid;
  std::replace(underscores.begin(), underscores.end(), '-', '_');
  auto info = lookup_pod(underscores, "", root_);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->uid, kOtherUid);
}

TEST_F(KubeLogTree, NothingFound) {
  EXPECT_FALSE(lookup_pod("11111111-2222-3333-4444-555555555555", std::string(64, 'a'), root_).has_value());
  EXPECT_FALSE(lookup_pod("", "", root_).has_value());
}

TEST(KubeLookup, MissingLogRootIsNotAnError) {
  EXPECT_FALSE(lookup_pod(kUid, kCid, "/nonexistent/credtrace/log").has_value());
}

TEST(KubeLookup, DanglingSymlinkStillGivesNames) {
  TempDir dir;
  fs::create_directories(dir.path() / "containers");
  fs::create_symlink("/var/log/pods/default_web-0_" + kUid + "/nginx/0.log",
                     dir.path() / "containers" / ("web-0_default_nginx-" + kCid + ".log"));
  auto info = lookup_pod("", kCid, dir.path().string());
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->pod_name, "web-0");
  EXPECT_EQ(info->namespace_name, "default");
  EXPECT_EQ(info->container_name, "nginx");
  EXPECT_EQ(info->uid, kUid);
}

TEST(KubeLookup, IgnoresMalformedNames) {
  TempDir dir;
  dir.write("containers/notes.txt", "x");
  dir.write("containers/a_b-" + kCid + ".log", "x");     // only two fields
  dir.write("containers/a_b_c_d-" + kCid + ".log", "x");  // four fields
  dir.write("pods/garbage/x/0.log", "x");
  EXPECT_FALSE(lookup_pod("", kCid, dir.path().string()).has_value());
}

}  // namespace
}  // namespace credtrace::identity
