// Tests for pod lookup in a fake kubelet log tree (LOG_ROOT/containers symlinks, LOG_ROOT/pods dirs), a row per lookup.
#include "identity/kube.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

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

// One lookup in the tree above: the keys asked with, and what must be found. A field left unset is not checked
// by that row; found = false means nothing may be found.
struct LookupCase {
  std::string name{};  // the test name: Lookups/KubeLookupInTree.Finds/<name>
  std::string pod_uid{};
  std::string container_id{};
  bool found = true;
  std::optional<std::string> uid{};
  std::optional<std::string> namespace_name{};
  std::optional<std::string> pod_name{};
  std::optional<std::string> container_name{};
  std::optional<std::string> source{};
  std::string why{};  // what the row guards against, printed when it fails
};

void PrintTo(const LookupCase& c, std::ostream* os) { *os << c.name; }

std::string underscores(std::string uid) {
  std::replace(uid.begin(), uid.end(), '-', '_');
  return uid;
}

const std::vector<LookupCase>& lookup_cases() {
  static const std::vector<LookupCase> cases = {
      {.name = "FindsByContainerId",
       .container_id = kCid,
       .uid = kUid,
       .namespace_name = "mcp",
       .pod_name = "github-mcp-7d9f8b-x2x4z",
       .container_name = "server",
       .source = "kubelet_log_dirs",
       .why = "uid recovered from the symlink target"},
      {.name = "ContainerIdPicksTheRightContainerOfTheSamePod",
       .pod_uid = kUid,
       .container_id = kSidecarCid,
       .uid = kUid,
       .container_name = "proxy"},
      {.name = "FallsBackToPodUidWhenContainerUnknown",
       .pod_uid = kOtherUid,
       .container_id = std::string(64, 'f'),
       .uid = kOtherUid,
       .namespace_name = "kube-system",
       .pod_name = "coredns-5d78c9869d-abcde",
       .container_name = "coredns",
       .source = "kubelet_log_dirs",
       .why = "single container pod: its container is named"},
      {.name = "PodUidWithSeveralContainersLeavesContainerEmpty",
       .pod_uid = kUid,
       .namespace_name = "mcp",
       .pod_name = "github-mcp-7d9f8b-x2x4z",
       .container_name = ""},
      {.name = "AcceptsUnderscoreUidForm", .pod_uid = underscores(kOtherUid), .uid = kOtherUid},
      {.name = "NothingFoundForUnknownKeys",
       .pod_uid = "11111111-2222-3333-4444-555555555555",
       .container_id = std::string(64, 'a'),
       .found = false},
      {.name = "NothingFoundForEmptyKeys", .found = false},
  };
  return cases;
}

class KubeLookupInTree : public KubeLogTree, public ::testing::WithParamInterface<LookupCase> {};

TEST_P(KubeLookupInTree, Finds) {
  const LookupCase& c = GetParam();
  SCOPED_TRACE(c.why);  // "" for most rows
  auto info = lookup_pod(c.pod_uid, c.container_id, root_);
  if (!c.found) {
    EXPECT_FALSE(info.has_value());
    return;
  }
  ASSERT_TRUE(info.has_value());
  if (c.uid) {
    EXPECT_EQ(info->uid, *c.uid);
  }
  if (c.namespace_name) {
    EXPECT_EQ(info->namespace_name, *c.namespace_name);
  }
  if (c.pod_name) {
    EXPECT_EQ(info->pod_name, *c.pod_name);
  }
  if (c.container_name) {
    EXPECT_EQ(info->container_name, *c.container_name);
  }
  if (c.source) {
    EXPECT_EQ(info->source, *c.source);
  }
}

INSTANTIATE_TEST_SUITE_P(Lookups, KubeLookupInTree, ::testing::ValuesIn(lookup_cases()),
                         [](const ::testing::TestParamInfo<LookupCase>& info) { return info.param.name; });

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
