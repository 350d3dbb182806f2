// Parses cgroup paths from docker, containerd, cri-o, podman, kubelet and systemd into CgroupInfo.
#include "identity/cgroup.h"

#include <algorithm>
#include <array>
#include <optional>
#include <vector>

namespace credtrace::identity {
namespace {

constexpr size_t kContainerIdLen = 64;

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

bool is_container_id(std::string_view s) {
  return s.size() == kContainerIdLen && std::all_of(s.begin(), s.end(), is_lower_hex);
}

bool is_pod_uid(std::string_view s) {
  if (s.size() < 8 || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return is_lower_hex(c) || c == '-' || c == '_'; });
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(sep, start);
    if (end == std::string_view::npos) end = s.size();
    parts.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

struct ContainerHit {
  std::string_view runtime;
  std::string_view id;
};

struct RuntimePrefix {
  std::string_view prefix;
  std::string_view runtime;
};

// Scope/cgroup name prefixes written by runtimes: "<prefix><64-hex>[.scope]".
constexpr std::array<RuntimePrefix, 5> kRuntimePrefixes{{
    {"docker-", "docker"},
    {"cri-containerd-", "containerd"},
    {"crio-", "cri-o"},
    {"libpod-", "podman"},
    {"nerdctl-", "containerd"},
}};

// Runtime for a bare 64-hex component, judged by the parent component.
std::string_view runtime_for_bare_id(std::string_view parent, bool parent_is_pod) {
  if (parent == "docker" || parent == "actions_job") return "docker";
  if (parent_is_pod || parent == "k8s.io" || parent == "default") return "containerd";
  return "";
}

std::optional<ContainerHit> prefixed_container(std::string_view comp) {
  if (ends_with(comp, ".scope")) comp.remove_suffix(6);
  for (const auto& rp : kRuntimePrefixes) {
    if (starts_with(comp, rp.prefix) && is_container_id(comp.substr(rp.prefix.size()))) {
      return ContainerHit{rp.runtime, comp.substr(rp.prefix.size())};
    }
  }
  return std::nullopt;
}

// cgroup v1 + systemd driver writes "<pod slice>:<runtime prefix>:<id>".
std::optional<ContainerHit> colon_container(std::string_view comp) {
  auto parts = split(comp, ':');
  if (parts.size() != 3 || !is_container_id(parts[2])) return std::nullopt;
  if (parts[1] == "cri-containerd") return ContainerHit{"containerd", parts[2]};
  if (parts[1] == "crio") return ContainerHit{"cri-o", parts[2]};
  if (parts[1] == "docker") return ContainerHit{"docker", parts[2]};
  return std::nullopt;
}

std::optional<ContainerHit> container_in(std::string_view comp, std::string_view parent, bool parent_is_pod) {
  if (comp.find(':') != std::string_view::npos) return colon_container(comp);
  if (is_container_id(comp)) return ContainerHit{runtime_for_bare_id(parent, parent_is_pod), comp};
  return prefixed_container(comp);
}

struct PodHit {
  std::string uid;
  std::string qos;
};

std::string qos_from_slice(std::string_view slice) {
  if (slice.find("kubepods-burstable") != std::string_view::npos) return "burstable";
  if (slice.find("kubepods-besteffort") != std::string_view::npos) return "besteffort";
  return "guaranteed";
}

// systemd driver: "[kubelet-]kubepods[-<qos>]-pod<uid_with_underscores>.slice".
std::optional<PodHit> systemd_pod(std::string_view comp) {
  if (!ends_with(comp, ".slice") || comp.find("kubepods") == std::string_view::npos) return std::nullopt;
  size_t at = comp.rfind("-pod");
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view uid = comp.substr(at + 4, comp.size() - at - 4 - 6);
  if (!is_pod_uid(uid)) return std::nullopt;
  std::string dashed(uid);
  std::replace(dashed.begin(), dashed.end(), '_', '-');
  return PodHit{dashed, qos_from_slice(comp)};
}

// cgroupfs driver: ".../kubepods[/<qos>]/pod<uid>".
std::optional<PodHit> cgroupfs_pod(std::string_view comp, std::string_view parent, bool saw_kubepods) {
  if (!saw_kubepods || !starts_with(comp, "pod") || !is_pod_uid(comp.substr(3))) return std::nullopt;
  std::string qos = (parent == "burstable" || parent == "besteffort") ? std::string(parent) : "guaranteed";
  return PodHit{std::string(comp.substr(3)), qos};
}

std::optional<PodHit> pod_in(std::string_view comp, std::string_view parent, bool saw_kubepods) {
  std::string_view head = comp.substr(0, comp.find(':'));
  if (auto hit = systemd_pod(head)) return hit;
  return cgroupfs_pod(comp, parent, saw_kubepods);
}

bool is_unit_name(std::string_view comp) {
  return (ends_with(comp, ".service") && comp.size() > 8) || (ends_with(comp, ".scope") && comp.size() > 6);
}

bool is_user_manager(std::string_view comp) {
  if (!starts_with(comp, "user@") || !ends_with(comp, ".service")) return false;
  std::string_view uid = comp.substr(5, comp.size() - 5 - 8);
  return !uid.empty() && std::all_of(uid.begin(), uid.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Walks one path component from outermost to innermost; later (inner) hits overwrite earlier ones.
class PathWalker {
 public:
  explicit PathWalker(CgroupInfo& info) : info_(info) {}

  void visit(std::string_view comp) {
    if (comp.find("kubepods") != std::string_view::npos) saw_kubepods_ = true;
    bool is_pod = visit_pod(comp);
    bool is_container = visit_container(comp);
    if (!is_container) visit_systemd(comp);
    parent_ = comp;
    parent_is_pod_ = is_pod;
  }

 private:
  bool visit_pod(std::string_view comp) {
    auto pod = pod_in(comp, parent_, saw_kubepods_);
    if (!pod) return false;
    info_.pod_uid = pod->uid;
    info_.qos_class = pod->qos;
    return true;
  }

  bool visit_container(std::string_view comp) {
    auto hit = container_in(comp, parent_, parent_is_pod_);
    if (!hit) return false;
    info_.runtime = std::string(hit->runtime);
    info_.container_id = std::string(hit->id);
    return true;
  }

  void visit_systemd(std::string_view comp) {
    if (in_user_manager_) {
      if (is_unit_name(comp)) info_.systemd_user_unit = std::string(comp);
      return;
    }
    if (ends_with(comp, ".slice") && comp.size() > 6) info_.systemd_slice = std::string(comp);
    if (is_unit_name(comp)) info_.systemd_unit = std::string(comp);
    if (is_user_manager(comp)) in_user_manager_ = true;
  }

  CgroupInfo& info_;
  std::string_view parent_;
  bool parent_is_pod_ = false;
  bool saw_kubepods_ = false;
  bool in_user_manager_ = false;
};

struct CgroupLine {
  std::string_view hierarchy;
  std::string_view controllers;
  std::string_view path;
};

std::optional<CgroupLine> parse_cgroup_line(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  size_t first = line.find(':');
  if (first == std::string_view::npos || first == 0) return std::nullopt;
  size_t second = line.find(':', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  std::string_view hier = line.substr(0, first);
  if (!std::all_of(hier.begin(), hier.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  return CgroupLine{hier, line.substr(first + 1, second - first - 1), line.substr(second + 1)};
}

// Lower is better: name=systemd, pids, cpu/cpuacct, memory, anything else.
int v1_rank(std::string_view controllers) {
  int best = 4;
  for (auto c : split(controllers, ',')) {
    if (c == "name=systemd") best = std::min(best, 0);
    else if (c == "pids") best = std::min(best, 1);
    else if (c == "cpu" || c == "cpuacct") best = std::min(best, 2);
    else if (c == "memory") best = std::min(best, 3);
  }
  return best;
}

}  // namespace

CgroupInfo parse_cgroup_path(std::string_view path) {
  CgroupInfo info;
  info.path = std::string(path);
  PathWalker walker(info);
  for (auto comp : split(path, '/')) {
    if (!comp.empty()) walker.visit(comp);
  }
  return info;
}

std::string select_cgroup_path(std::string_view content) {
  std::optional<std::string_view> v2;
  std::optional<std::string_view> v1;
  int v1_best = 99;
  for (auto raw : split(content, '\n')) {
    auto line = parse_cgroup_line(raw);
    if (!line) continue;
    if (line->hierarchy == "0" && line->controllers.empty()) {
      if (!v2) v2 = line->path;
      continue;
    }
    int rank = v1_rank(line->controllers);
    if (rank < v1_best) {
      v1_best = rank;
      v1 = line->path;
    }
  }
  if (v2 && (!v1 || *v2 != "/")) return std::string(*v2);
  if (v1) return std::string(*v1);
  return "";
}

}  // namespace credtrace::identity
