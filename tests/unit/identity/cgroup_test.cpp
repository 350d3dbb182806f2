// Tests for cgroup path parsing and /proc/PID/cgroup line selection: one table row per real-world path shape.
#include "identity/cgroup.h"

#include <gtest/gtest.h>

#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace credtrace::identity {
namespace {

const std::string kId = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb";
const std::string kId2 = "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d";
const std::string kNodeId = "2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6";
const std::string kPodUid = "5b6d1b7a-3c2e-4f8a-9d10-2b3c4d5e6f70";
const std::string kPodUidUnderscores = "5b6d1b7a_3c2e_4f8a_9d10_2b3c4d5e6f70";

// ---- parse_cgroup_path: one row per path shape ----

// What one cgroup path parses to. A field left unset is not checked by that row; `path` is always
// checked to come back as given.
struct PathCase {
  std::string name{};  // the test name: Shapes/ParseCgroupPath.Fields/<name>
  std::string path{};
  bool no_container = false;  // runtime, container_id, pod_uid and qos_class all ""
  std::optional<std::string> runtime{};
  std::optional<std::string> container_id{};
  std::optional<std::string> pod_uid{};
  std::optional<std::string> qos_class{};
  std::optional<std::string> systemd_unit{};
  std::optional<std::string> systemd_slice{};
  std::optional<std::string> systemd_user_unit{};
  std::string why{};  // what the row guards against, printed when it fails
};

void PrintTo(const PathCase& c, std::ostream* os) { *os << c.name << " (" << c.path << ")"; }

const std::vector<PathCase>& path_cases() {
  static const std::vector<PathCase> cases = {
      // Docker
      {.name = "DockerCgroupfsV1",
       .path = "/docker/" + kId,
       .runtime = "docker",
       .container_id = kId,
       .pod_uid = "",
       .systemd_unit = ""},
      {.name = "DockerSystemdV2",
       .path = "/system.slice/docker-" + kId + ".scope",
       .runtime = "docker",
       .container_id = kId,
       .systemd_unit = "",
       .systemd_slice = "system.slice",
       .why = "the container scope is not reported as a unit"},
      {.name = "DockerInDockerInnermostWins",
       .path = "/docker/" + kId + "/docker/" + kId2,
       .runtime = "docker",
       .container_id = kId2},
      {.name = "SystemdInsideDockerKeepsInnerUnit",
       .path = "/system.slice/docker-" + kId + ".scope/system.slice/nginx.service",
       .container_id = kId,
       .systemd_unit = "nginx.service"},
      {.name = "GithubActionsJob", .path = "/actions_job/" + kId, .runtime = "docker", .container_id = kId},

      // Kubernetes: containerd and CRI-O, cgroupfs and systemd drivers, the three QoS classes
      {.name = "ContainerdCriCgroupfsBurstable",
       .path = "/kubepods/burstable/pod" + kPodUid + "/" + kId,
       .runtime = "containerd",
       .container_id = kId,
       .pod_uid = kPodUid,
       .qos_class = "burstable"},
      {.name = "ContainerdSystemdBurstable",
       .path = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + kPodUidUnderscores +
               ".slice/cri-containerd-" + kId + ".scope",
       .runtime = "containerd",
       .container_id = kId,
       .pod_uid = kPodUid,
       .qos_class = "burstable",
       .systemd_unit = "",
       .systemd_slice = "kubepods-burstable-pod" + kPodUidUnderscores + ".slice"},
      {.name = "CriOSystemdBestEffort",
       .path = "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + kPodUidUnderscores +
               ".slice/crio-" + kId + ".scope",
       .runtime = "cri-o",
       .container_id = kId,
       .pod_uid = kPodUid,
       .qos_class = "besteffort"},
      {.name = "CriOConmonScopeIsNotTheContainer",
       .path = "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + kPodUidUnderscores +
               ".slice/crio-conmon-" + kId + ".scope",
       .runtime = "",
       .container_id = "",
       .pod_uid = kPodUid,
       .systemd_unit = "crio-conmon-" + kId + ".scope"},
      {.name = "CriOCgroupfsBestEffort",
       .path = "/kubepods/besteffort/pod" + kPodUid + "/crio-" + kId,
       .runtime = "cri-o",
       .container_id = kId,
       .pod_uid = kPodUid,
       .qos_class = "besteffort"},
      {.name = "GuaranteedPodCgroupfs",
       .path = "/kubepods/pod" + kPodUid + "/" + kId,
       .container_id = kId,
       .pod_uid = kPodUid,
       .qos_class = "guaranteed"},
      {.name = "GuaranteedPodSystemd",
       .path = "/kubepods.slice/kubepods-pod" + kPodUidUnderscores + ".slice/cri-containerd-" + kId + ".scope",
       .runtime = "containerd",
       .container_id = kId,
       .pod_uid = kPodUid,
       .qos_class = "guaranteed"},
      {.name = "PodSandboxLevelHasPodButNoContainer",
       .path = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + kPodUidUnderscores + ".slice",
       .container_id = "",
       .pod_uid = kPodUid,
       .qos_class = "burstable"},
      {.name = "StaticPodMirrorUidWithoutDashes",
       .path = "/kubepods/burstable/pod8f7e6d5c4b3a29180f1e2d3c4b5a6978/" + kId,
       .pod_uid = "8f7e6d5c4b3a29180f1e2d3c4b5a6978"},
      {.name = "ContainerdSystemdDriverOnCgroupV1ColonForm",
       .path = "/system.slice/containerd.service/kubepods-burstable-pod" + kPodUidUnderscores +
               ".slice:cri-containerd:" + kId,
       .runtime = "containerd",
       .container_id = kId,
       .pod_uid = kPodUid,
       .qos_class = "burstable",
       .systemd_unit = "containerd.service"},
      {.name = "PodPrefixOutsideKubepodsIsIgnored", .path = "/something/pod" + kPodUid + "/x", .pod_uid = ""},

      // Kubernetes in Docker: kind, k3d, k3s
      {.name = "KindNodeSeenFromHost",
       .path = "/system.slice/docker-" + kNodeId +
               ".scope/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/"
               "kubelet-kubepods-besteffort-pod" +
               kPodUidUnderscores + ".slice/cri-containerd-" + kId + ".scope",
       .runtime = "containerd",
       .container_id = kId,
       .pod_uid = kPodUid,
       .qos_class = "besteffort",
       .why = "innermost container wins over the kind node container"},
      {.name = "KindNodeInsideCgroupNamespace",
       .path = "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-pod" + kPodUidUnderscores +
               ".slice/cri-containerd-" + kId + ".scope",
       .container_id = kId,
       .pod_uid = kPodUid,
       .qos_class = "guaranteed"},
      {.name = "K3dNodeCgroupfsNested",
       .path = "/docker/" + kNodeId + "/kubepods/besteffort/pod" + kPodUid + "/" + kId,
       .runtime = "containerd",
       .container_id = kId,
       .pod_uid = kPodUid,
       .qos_class = "besteffort"},
      {.name = "K3sCgroupfs",
       .path = "/kubepods/burstable/pod" + kPodUid + "/" + kId,
       .container_id = kId,
       .pod_uid = kPodUid},

      // Podman
      {.name = "PodmanRootful",
       .path = "/machine.slice/libpod-" + kId + ".scope",
       .runtime = "podman",
       .container_id = kId,
       .systemd_unit = "",
       .systemd_slice = "machine.slice"},
      {.name = "PodmanRootfulWithContainerSubgroup",
       .path = "/machine.slice/libpod-" + kId + ".scope/container",
       .runtime = "podman",
       .container_id = kId},
      {.name = "PodmanRootless",
       .path = "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + kId + ".scope",
       .runtime = "podman",
       .container_id = kId,
       .systemd_unit = "user@1000.service",
       .systemd_slice = "user-1000.slice",
       .systemd_user_unit = "",
       .why = "the libpod scope is the container, not a user unit"},
      {.name = "PodmanCgroupfsManager",
       .path = "/libpod_parent/libpod-" + kId,
       .runtime = "podman",
       .container_id = kId},
      {.name = "PodmanConmonIsAUnitNotAContainer",
       .path = "/machine.slice/libpod-conmon-" + kId + ".scope",
       .runtime = "",
       .container_id = "",
       .systemd_unit = "libpod-conmon-" + kId + ".scope"},

      // systemd services, sessions and user units (no container)
      {.name = "PlainSystemdService",
       .path = "/system.slice/nginx.service",
       .no_container = true,
       .systemd_unit = "nginx.service",
       .systemd_slice = "system.slice",
       .systemd_user_unit = ""},
      {.name = "TemplatedServiceInSubSlice",
       .path = "/system.slice/system-getty.slice/getty@tty1.service",
       .systemd_unit = "getty@tty1.service",
       .systemd_slice = "system-getty.slice"},
      {.name = "ServiceWithDelegatedSubgroup",
       .path = "/system.slice/containerd.service",
       .runtime = "",
       .systemd_unit = "containerd.service"},
      {.name = "UserSession",
       .path = "/user.slice/user-1000.slice/session-3.scope",
       .no_container = true,
       .systemd_unit = "session-3.scope",
       .systemd_slice = "user-1000.slice",
       .systemd_user_unit = ""},
      {.name = "UserUnitInsideUserManager",
       .path = "/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service",
       .no_container = true,
       .systemd_unit = "user@1000.service",
       .systemd_slice = "user-1000.slice",
       .systemd_user_unit = "foo.service",
       .why = "user-manager slices do not replace the system slice"},
      {.name = "GnomeTerminalSpawnScope",
       .path = "/user.slice/user-1000.slice/user@1000.service/app.slice/app-org.gnome.Terminal.slice/"
               "vte-spawn-0f9e3a52-8f4e-4d3c-9b1a-1c2d3e4f5a6b.scope",
       .systemd_unit = "user@1000.service",
       .systemd_user_unit = "vte-spawn-0f9e3a52-8f4e-4d3c-9b1a-1c2d3e4f5a6b.scope"},
      {.name = "UserManagerItself",
       .path = "/user.slice/user-1000.slice/user@1000.service/init.scope",
       .systemd_unit = "user@1000.service",
       .systemd_user_unit = "init.scope"},
      {.name = "Root", .path = "/", .no_container = true, .systemd_unit = "", .systemd_slice = ""},
      {.name = "InitScope",
       .path = "/init.scope",
       .no_container = true,
       .systemd_unit = "init.scope",
       .systemd_slice = ""},
  };
  return cases;
}

class ParseCgroupPath : public ::testing::TestWithParam<PathCase> {};

TEST_P(ParseCgroupPath, Fields) {
  const PathCase& c = GetParam();
  SCOPED_TRACE(c.why);  // "" for most rows
  const CgroupInfo info = parse_cgroup_path(c.path);
  EXPECT_EQ(info.path, c.path);
  if (c.no_container) {
    EXPECT_EQ(info.runtime, "");
    EXPECT_EQ(info.container_id, "");
    EXPECT_EQ(info.pod_uid, "");
    EXPECT_EQ(info.qos_class, "");
  }
  if (c.runtime) {
    EXPECT_EQ(info.runtime, *c.runtime);
  }
  if (c.container_id) {
    EXPECT_EQ(info.container_id, *c.container_id);
  }
  if (c.pod_uid) {
    EXPECT_EQ(info.pod_uid, *c.pod_uid);
  }
  if (c.qos_class) {
    EXPECT_EQ(info.qos_class, *c.qos_class);
  }
  if (c.systemd_unit) {
    EXPECT_EQ(info.systemd_unit, *c.systemd_unit);
  }
  if (c.systemd_slice) {
    EXPECT_EQ(info.systemd_slice, *c.systemd_slice);
  }
  if (c.systemd_user_unit) {
    EXPECT_EQ(info.systemd_user_unit, *c.systemd_user_unit);
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, ParseCgroupPath, ::testing::ValuesIn(path_cases()),
                         [](const ::testing::TestParamInfo<PathCase>& info) { return info.param.name; });

TEST(CgroupParse, EmptyAndGarbageDoNotCrash) {
  for (std::string garbage : {std::string(), std::string("////"), std::string("not a path at all"),
                              std::string("/kubepods-pod.slice/docker-.scope/.scope/.slice/-pod"),
                              std::string("/docker/") + kId.substr(0, 63), std::string("/docker/") + kId + "0",
                              std::string("/docker/") + "CA978112CA1BBDCAFAC231B39A23DC4DA786EFF8147C4E72B9807785AFEE48BB",
                              std::string("::::/a:b:c:d/\xff\xfe\x00/", 16), std::string("/kubepods/podzz/xyz"),
                              std::string("/user@.service/user@x.service/a.service")}) {
    auto info = parse_cgroup_path(garbage);
    EXPECT_EQ(info.path, garbage);
    EXPECT_EQ(info.container_id, "") << garbage;
    EXPECT_EQ(info.runtime, "") << garbage;
    EXPECT_EQ(info.pod_uid, "") << garbage;
  }
}

// ---- select_cgroup_path: one row per /proc/PID/cgroup layout ----

struct SelectCase {
  std::string name{};  // the test name: Contents/SelectCgroupPath.Picks/<name>
  std::string content{};
  std::string expected{};
};

void PrintTo(const SelectCase& c, std::ostream* os) { *os << c.name; }

const std::vector<SelectCase>& select_cases() {
  static const std::vector<SelectCase> cases = {
      {"PureV2", "0::/system.slice/docker-" + kId + ".scope\n", "/system.slice/docker-" + kId + ".scope"},
      {"V1PrefersNameSystemd",
       "12:hugetlb:/docker/" + kId2 + "\n" + "11:memory:/docker/" + kId2 + "\n" + "10:pids:/docker/" + kId2 + "\n" +
           "9:cpu,cpuacct:/docker/" + kId2 + "\n" + "1:name=systemd:/docker/" + kId + "\n",
       "/docker/" + kId},
      {"V1WithoutNameSystemdPrefersPids", "4:memory:/m\n3:cpu,cpuacct:/c\n2:pids:/p\n1:devices:/d\n", "/p"},
      {"V1WithoutPidsPrefersCpu", "4:memory:/m\n3:cpu,cpuacct:/c\n1:devices:/d\n", "/c"},
      {"V1WithoutCpuPrefersMemory", "4:memory:/m\n1:devices:/d\n", "/m"},
      {"V1OtherwiseAnyHierarchy", "1:devices:/d\n", "/d"},
      {"HybridPrefersUnifiedWhenPlaced",
       "5:pids:/system.slice/nginx.service\n"
       "1:name=systemd:/system.slice/nginx.service\n"
       "0::/system.slice/nginx.service\n",
       "/system.slice/nginx.service"},
      {"HybridFallsBackToV1WhenUnifiedIsRoot", "5:pids:/docker/" + kId + "\n1:name=systemd:/docker/" + kId + "\n0::/\n",
       "/docker/" + kId},
      {"NoTrailingNewline", "0::/init.scope", "/init.scope"},
      {"CrLf", "0::/init.scope\r\n", "/init.scope"},
      {"RootOnlyV2", "0::/\n", "/"},
      {"EmptyGivesEmpty", "", ""},
      {"NoHierarchyLinesGiveEmpty", "hello\nworld\n", ""},
      {"MalformedHierarchyIdsGiveEmpty", "x:y:/z\n:cpu:/q\n", ""},
  };
  return cases;
}

class SelectCgroupPath : public ::testing::TestWithParam<SelectCase> {};

TEST_P(SelectCgroupPath, Picks) { EXPECT_EQ(select_cgroup_path(GetParam().content), GetParam().expected); }

INSTANTIATE_TEST_SUITE_P(Contents, SelectCgroupPath, ::testing::ValuesIn(select_cases()),
                         [](const ::testing::TestParamInfo<SelectCase>& info) { return info.param.name; });

TEST(CgroupSelect, PathMayContainColons) {
  const std::string path = "/system.slice/containerd.service/kubepods-besteffort-pod" + kPodUidUnderscores +
                           ".slice:cri-containerd:" + kId;
  EXPECT_EQ(select_cgroup_path("1:name=systemd:" + path + "\n"), path);
  auto info = parse_cgroup_path(select_cgroup_path("1:name=systemd:" + path + "\n"));
  EXPECT_EQ(info.container_id, kId);
}

}  // namespace
}  // namespace credtrace::identity
