// Tests for cgroup path parsing and /proc/PID/cgroup line selection, using real-world path shapes.
#include "identity/cgroup.h"

#include <gtest/gtest.h>

#include <string>

namespace credtrace::identity {
namespace {

const std::string kId = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb";
const std::string kId2 = "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d";
const std::string kNodeId = "2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6";
const std::string kPodUid = "5b6d1b7a-3c2e-4f8a-9d10-2b3c4d5e6f70";
const std::string kPodUidUnderscores = "5b6d1b7a_3c2e_4f8a_9d10_2b3c4d5e6f70";

void expect_no_container(const CgroupInfo& info) {
  EXPECT_EQ(info.runtime, "");
  EXPECT_EQ(info.container_id, "");
  EXPECT_EQ(info.pod_uid, "");
  EXPECT_EQ(info.qos_class, "");
}

TEST(CgroupParse, DockerCgroupfsV1) {
  auto info = parse_cgroup_path("/docker/" + kId);
  EXPECT_EQ(info.path, "/docker/" + kId);
  EXPECT_EQ(info.runtime, "docker");
  EXPECT_EQ(info.container_id, kId);
  EXPECT_EQ(info.pod_uid, "");
  EXPECT_EQ(info.systemd_unit, "");
}

TEST(CgroupParse, DockerSystemdV2) {
  auto info = parse_cgroup_path("/system.slice/docker-" + kId + ".scope");
  EXPECT_EQ(info.runtime, "docker");
  EXPECT_EQ(info.container_id, kId);
  EXPECT_EQ(info.systemd_slice, "system.slice");
  EXPECT_EQ(info.systemd_unit, "") << "the container scope is not reported as a unit";
}

TEST(CgroupParse, ContainerdCriCgroupfsBurstable) {
  auto info = parse_cgroup_path("/kubepods/burstable/pod" + kPodUid + "/" + kId);
  EXPECT_EQ(info.runtime, "containerd");
  EXPECT_EQ(info.container_id, kId);
  EXPECT_EQ(info.pod_uid, kPodUid);
  EXPECT_EQ(info.qos_class, "burstable");
}

TEST(CgroupParse, ContainerdSystemdBurstable) {
  auto info = parse_cgroup_path("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" +
                                kPodUidUnderscores + ".slice/cri-containerd-" + kId + ".scope");
  EXPECT_EQ(info.runtime, "containerd");
  EXPECT_EQ(info.container_id, kId);
  EXPECT_EQ(info.pod_uid, kPodUid);
  EXPECT_EQ(info.qos_class, "burstable");
  EXPECT_EQ(info.systemd_slice, "kubepods-burstable-pod" + kPodUidUnderscores + ".slice");
  EXPECT_EQ(info.systemd_unit, "");
}

TEST(CgroupParse, CriOSystemdBestEffort) {
  auto info = parse_cgroup_path("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" +
                                kPodUidUnderscores + ".slice/crio-" + kId + ".scope");
  EXPECT_EQ(info.runtime, "cri-o");
  EXPECT_EQ(info.container_id, kId);
  EXPECT_EQ(info.pod_uid, kPodUid);
  EXPECT_EQ(info.qos_class, "besteffort");
}

TEST(CgroupParse, CriOConmonScopeIsNotTheContainer) {
  auto info = parse_cgroup_path("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" +
                                kPodUidUnderscores + ".slice/crio-conmon-" + kId + ".scope");
  EXPECT_EQ(info.runtime, "");
  EXPECT_EQ(info.container_id, "");
  EXPECT_EQ(info.pod_uid, kPodUid);
  EXPECT_EQ(info.systemd_unit, "crio-conmon-" + kId + ".scope");
}

TEST(CgroupParse, CriOCgroupfsBestEffort) {
  auto info = parse_cgroup_path("/kubepods/besteffort/pod" + kPodUid + "/crio-" + kId);
  EXPECT_EQ(info.runtime, "cri-o");
  EXPECT_EQ(info.container_id, kId);
  EXPECT_EQ(info.pod_uid, kPodUid);
  EXPECT_EQ(info.qos_class, "besteffort");
}

TEST(CgroupParse, GuaranteedPodCgroupfs) {
  auto info = parse_cgroup_path("/kubepods/pod" + kPodUid + "/" + kId);
  EXPECT_EQ(info.pod_uid, kPodUid);
  EXPECT_EQ(info.qos_class, "guaranteed");
  EXPECT_EQ(info.container_id, kId);
}

TEST(CgroupParse, GuaranteedPodSystemd) {
  auto info = parse_cgroup_path("/kubepods.slice/kubepods-pod" + kPodUidUnderscores + ".slice/cri-containerd-" +
                                kId + ".scope");
  EXPECT_EQ(info.pod_uid, kPodUid);
  EXPECT_EQ(info.qos_class, "guaranteed");
  EXPECT_EQ(info.runtime, "containerd");
  EXPECT_EQ(info.container_id, kId);
}

TEST(CgroupParse, PodSandboxLevelHasPodButNoContainer) {
  auto info = parse_cgroup_path("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" +
                                kPodUidUnderscores + ".slice");
  EXPECT_EQ(info.pod_uid, kPodUid);
  EXPECT_EQ(info.qos_class, "burstable");
  EXPECT_EQ(info.container_id, "");
}

TEST(CgroupParse, StaticPodMirrorUidWithoutDashes) {
  const std::string uid = "8f7e6d5c4b3a29180f1e2d3c4b5a6978";
  auto info = parse_cgroup_path("/kubepods/burstable/pod" + uid + "/" + kId);
  EXPECT_EQ(info.pod_uid, uid);
}

TEST(CgroupParse, ContainerdSystemdDriverOnCgroupV1ColonForm) {
  auto info = parse_cgroup_path("/system.slice/containerd.service/kubepods-burstable-pod" + kPodUidUnderscores +
                                ".slice:cri-containerd:" + kId);
  EXPECT_EQ(info.runtime, "containerd");
  EXPECT_EQ(info.container_id, kId);
  EXPECT_EQ(info.pod_uid, kPodUid);
  EXPECT_EQ(info.qos_class, "burstable");
  EXPECT_EQ(info.systemd_unit, "containerd.service");
}

TEST(CgroupParse, PodmanRootful) {
  auto info = parse_cgroup_path("/machine.slice/libpod-" + kId + ".scope");
  EXPECT_EQ(info.runtime, "podman");
  EXPECT_EQ(info.container_id, kId);
  EXPECT_EQ(info.systemd_slice, "machine.slice");
  EXPECT_EQ(info.systemd_unit, "");
}

TEST(CgroupParse, PodmanRootfulWithContainerSubgroup) {
  auto info = parse_cgroup_path("/machine.slice/libpod-" + kId + ".scope/container");
  EXPECT_EQ(info.runtime, "podman");
  EXPECT_EQ(info.container_id, kId);
}

TEST(CgroupParse, PodmanRootless) {
  auto info = parse_cgroup_path("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + kId + ".scope");
  EXPECT_EQ(info.runtime, "podman");
  EXPECT_EQ(info.container_id, kId);
  EXPECT_EQ(info.systemd_slice, "user-1000.slice");
  EXPECT_EQ(info.systemd_unit, "user@1000.service");
  EXPECT_EQ(info.systemd_user_unit, "") << "the libpod scope is the container, not a user unit";
}

TEST(CgroupParse, PodmanCgroupfsManager) {
  auto info = parse_cgroup_path("/libpod_parent/libpod-" + kId);
  EXPECT_EQ(info.runtime, "podman");
  EXPECT_EQ(info.container_id, kId);
}

TEST(CgroupParse, PodmanConmonIsAUnitNotAContainer) {
  auto info = parse_cgroup_path("/machine.slice/libpod-conmon-" + kId + ".scope");
  EXPECT_EQ(info.runtime, "");
  EXPECT_EQ(info.container_id, "");
  EXPECT_EQ(info.systemd_unit, "libpod-conmon-" + kId + ".scope");
}

TEST(CgroupParse, PlainSystemdService) {
  auto info = parse_cgroup_path("/system.slice/nginx.service");
  expect_no_container(info);
  EXPECT_EQ(info.systemd_unit, "nginx.service");
  EXPECT_EQ(info.systemd_slice, "system.slice");
  EXPECT_EQ(info.systemd_user_unit, "");
}

TEST(CgroupParse, TemplatedServiceInSubSlice) {
  auto info = parse_cgroup_path("/system.slice/system-getty.slice/getty@tty1.service");
  EXPECT_EQ(info.systemd_unit, "getty@tty1.service");
  EXPECT_EQ(info.systemd_slice, "system-getty.slice");
}

TEST(CgroupParse, ServiceWithDelegatedSubgroup) {
  auto info = parse_cgroup_path("/system.slice/containerd.service");
  EXPECT_EQ(info.systemd_unit, "containerd.service");
  EXPECT_EQ(info.runtime, "");
}

TEST(CgroupParse, UserSession) {
  auto info = parse_cgroup_path("/user.slice/user-1000.slice/session-3.scope");
  expect_no_container(info);
  EXPECT_EQ(info.systemd_unit, "session-3.scope");
  EXPECT_EQ(info.systemd_slice, "user-1000.slice");
  EXPECT_EQ(info.systemd_user_unit, "");
}

TEST(CgroupParse, UserUnitInsideUserManager) {
  auto info = parse_cgroup_path("/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service");
  expect_no_container(info);
  EXPECT_EQ(info.systemd_unit, "user@1000.service");
  EXPECT_EQ(info.systemd_slice, "user-1000.slice") << "user-manager slices do not replace the system slice";
  EXPECT_EQ(info.systemd_user_unit, "foo.service");
}

TEST(CgroupParse, GnomeTerminalSpawnScope) {
  const std::string scope = "vte-spawn-0f9e3a52-8f4e-4d3c-9b1a-1c2d3e4f5a6b.scope";
  auto info = parse_cgroup_path("/user.slice/user-1000.slice/user@1000.service/app.slice/app-org.gnome.Terminal.slice/" +
                                scope);
  EXPECT_EQ(info.systemd_user_unit, scope);
  EXPECT_EQ(info.systemd_unit, "user@1000.service");
}

TEST(CgroupParse, UserManagerItself) {
  auto info = parse_cgroup_path("/user.slice/user-1000.slice/user@1000.service/init.scope");
  EXPECT_EQ(info.systemd_unit, "user@1000.service");
  EXPECT_EQ(info.systemd_user_unit, "init.scope");
}

TEST(CgroupParse, KindNodeSeenFromHost) {
  auto info = parse_cgroup_path("/system.slice/docker-" + kNodeId +
                                ".scope/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/"
                                "kubelet-kubepods-besteffort-pod" +
                                kPodUidUnderscores + ".slice/cri-containerd-" + kId + ".scope");
  EXPECT_EQ(info.runtime, "containerd") << "innermost container wins over the kind node container";
  EXPECT_EQ(info.container_id, kId);
  EXPECT_EQ(info.pod_uid, kPodUid);
  EXPECT_EQ(info.qos_class, "besteffort");
}

TEST(CgroupParse, KindNodeInsideCgroupNamespace) {
  auto info = parse_cgroup_path("/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-pod" + kPodUidUnderscores +
                                ".slice/cri-containerd-" + kId + ".scope");
  EXPECT_EQ(info.pod_uid, kPodUid);
  EXPECT_EQ(info.qos_class, "guaranteed");
  EXPECT_EQ(info.container_id, kId);
}

TEST(CgroupParse, K3dNodeCgroupfsNested) {
  auto info = parse_cgroup_path("/docker/" + kNodeId + "/kubepods/besteffort/pod" + kPodUid + "/" + kId);
  EXPECT_EQ(info.runtime, "containerd");
  EXPECT_EQ(info.container_id, kId);
  EXPECT_EQ(info.pod_uid, kPodUid);
  EXPECT_EQ(info.qos_class, "besteffort");
}

TEST(CgroupParse, K3sCgroupfs) {
  auto info = parse_cgroup_path("/kubepods/burstable/pod" + kPodUid + "/" + kId);
  EXPECT_EQ(info.pod_uid, kPodUid);
  EXPECT_EQ(info.container_id, kId);
}

TEST(CgroupParse, DockerInDockerInnermostWins) {
  auto info = parse_cgroup_path("/docker/" + kId + "/docker/" + kId2);
  EXPECT_EQ(info.runtime, "docker");
  EXPECT_EQ(info.container_id, kId2);
}

TEST(CgroupParse, SystemdInsideDockerKeepsInnerUnit) {
  auto info = parse_cgroup_path("/system.slice/docker-" + kId + ".scope/system.slice/nginx.service");
  EXPECT_EQ(info.container_id, kId);
  EXPECT_EQ(info.systemd_unit, "nginx.service");
}

TEST(CgroupParse, GithubActionsJob) {
  auto info = parse_cgroup_path("/actions_job/" + kId);
  EXPECT_EQ(info.runtime, "docker");
  EXPECT_EQ(info.container_id, kId);
}

TEST(CgroupParse, Root) {
  auto info = parse_cgroup_path("/");
  EXPECT_EQ(info.path, "/");
  expect_no_container(info);
  EXPECT_EQ(info.systemd_unit, "");
  EXPECT_EQ(info.systemd_slice, "");
}

TEST(CgroupParse, InitScope) {
  auto info = parse_cgroup_path("/init.scope");
  expect_no_container(info);
  EXPECT_EQ(info.systemd_unit, "init.scope");
  EXPECT_EQ(info.systemd_slice, "");
}

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

TEST(CgroupParse, PodPrefixOutsideKubepodsIsIgnored) {
  auto info = parse_cgroup_path("/something/pod" + kPodUid + "/x");
  EXPECT_EQ(info.pod_uid, "");
}

TEST(CgroupSelect, PureV2) {
  EXPECT_EQ(select_cgroup_path("0::/system.slice/docker-" + kId + ".scope\n"), "/system.slice/docker-" + kId + ".scope");
}

TEST(CgroupSelect, V1PrefersNameSystemd) {
  const std::string content =
      "12:hugetlb:/docker/" + kId2 + "\n" +
      "11:memory:/docker/" + kId2 + "\n" +
      "10:pids:/docker/" + kId2 + "\n" +
      "9:cpu,cpuacct:/docker/" + kId2 + "\n" +
      "1:name=systemd:/docker/" + kId + "\n";
  EXPECT_EQ(select_cgroup_path(content), "/docker/" + kId);
}

TEST(CgroupSelect, V1WithoutNameSystemdPrefersPidsThenCpu) {
  const std::string with_pids = "4:memory:/m\n3:cpu,cpuacct:/c\n2:pids:/p\n1:devices:/d\n";
  EXPECT_EQ(select_cgroup_path(with_pids), "/p");
  const std::string without_pids = "4:memory:/m\n3:cpu,cpuacct:/c\n1:devices:/d\n";
  EXPECT_EQ(select_cgroup_path(without_pids), "/c");
  EXPECT_EQ(select_cgroup_path("4:memory:/m\n1:devices:/d\n"), "/m");
  EXPECT_EQ(select_cgroup_path("1:devices:/d\n"), "/d");
}

TEST(CgroupSelect, HybridPrefersUnifiedWhenPlaced) {
  const std::string content =
      "5:pids:/system.slice/nginx.service\n"
      "1:name=systemd:/system.slice/nginx.service\n"
      "0::/system.slice/nginx.service\n";
  EXPECT_EQ(select_cgroup_path(content), "/system.slice/nginx.service");
}

TEST(CgroupSelect, HybridFallsBackToV1WhenUnifiedIsRoot) {
  const std::string content = "5:pids:/docker/" + kId + "\n1:name=systemd:/docker/" + kId + "\n0::/\n";
  EXPECT_EQ(select_cgroup_path(content), "/docker/" + kId);
}

TEST(CgroupSelect, PathMayContainColons) {
  const std::string path = "/system.slice/containerd.service/kubepods-besteffort-pod" + kPodUidUnderscores +
                           ".slice:cri-containerd:" + kId;
  EXPECT_EQ(select_cgroup_path("1:name=systemd:" + path + "\n"), path);
  auto info = parse_cgroup_path(select_cgroup_path("1:name=systemd:" + path + "\n"));
  EXPECT_EQ(info.container_id, kId);
}

TEST(CgroupSelect, NoTrailingNewlineAndCrLf) {
  EXPECT_EQ(select_cgroup_path("0::/init.scope"), "/init.scope");
  EXPECT_EQ(select_cgroup_path("0::/init.scope\r\n"), "/init.scope");
}

TEST(CgroupSelect, RootOnlyV2) { EXPECT_EQ(select_cgroup_path("0::/\n"), "/"); }

TEST(CgroupSelect, GarbageGivesEmpty) {
  EXPECT_EQ(select_cgroup_path(""), "");
  EXPECT_EQ(select_cgroup_path("hello\nworld\n"), "");
  EXPECT_EQ(select_cgroup_path("x:y:/z\n:cpu:/q\n"), "");
}

}  // namespace
}  // namespace credtrace::identity
