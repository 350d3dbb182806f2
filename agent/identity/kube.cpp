// Resolves pod/container names by scanning kubelet log directories (/var/log/containers, /var/log/pods).
#include "identity/kube.h"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <vector>

namespace credtrace::identity {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSource = "kubelet_log_dirs";
constexpr size_t kContainerIdLen = 64;

std::vector<std::string_view> split_underscore(std::string_view s) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t end = s.find('_', start);
    if (end == std::string_view::npos) {
      parts.push_back(s.substr(start));
      return parts;
    }
    parts.push_back(s.substr(start, end - start));
    start = end + 1;
  }
}

std::string normalize_uid(std::string_view uid) {
  std::string out(uid);
  std::replace(out.begin(), out.end(), '_', '-');
  return out;
}

// Names of entries in `dir` (no stat, so dangling symlinks are listed too). Empty on any error.
std::vector<std::string> list_names(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    names.push_back(it->path().filename().string());
  }
  return names;
}

// "<ns>_<pod>_<uid>" → (ns, pod, uid); names never contain '_' (DNS-1123).
struct PodDir {
  std::string namespace_name, pod_name, uid;
};

std::optional<PodDir> parse_pod_dir(std::string_view name) {
  auto parts = split_underscore(name);
  if (parts.size() != 3 || parts[0].empty() || parts[1].empty() || parts[2].empty()) return std::nullopt;
  return PodDir{std::string(parts[0]), std::string(parts[1]), std::string(parts[2])};
}

// "<pod>_<ns>_<container>-<64hex>.log" → PodInfo without uid.
std::optional<PodInfo> parse_container_link(std::string_view name, std::string_view container_id) {
  constexpr std::string_view kExt = ".log";
  if (name.size() < kExt.size() + kContainerIdLen + 1 || name.substr(name.size() - kExt.size()) != kExt) {
    return std::nullopt;
  }
  name.remove_suffix(kExt.size());
  std::string_view id = name.substr(name.size() - kContainerIdLen);
  if (id != container_id || name[name.size() - kContainerIdLen - 1] != '-') return std::nullopt;
  name.remove_suffix(kContainerIdLen + 1);
  auto parts = split_underscore(name);
  if (parts.size() != 3 || parts[0].empty() || parts[1].empty() || parts[2].empty()) return std::nullopt;
  PodInfo info;
  info.pod_name = std::string(parts[0]);
  info.namespace_name = std::string(parts[1]);
  info.container_name = std::string(parts[2]);
  info.source = std::string(kSource);
  return info;
}

// The symlink target is LOG_ROOT/pods/<ns>_<pod>_<uid>/<container>/<n>.log; recover the uid from it.
std::string uid_from_link_target(const fs::path& link) {
  std::error_code ec;
  fs::path target = fs::read_symlink(link, ec);
  if (ec) return "";
  fs::path pod_dir = target.parent_path().parent_path().filename();
  auto dir = parse_pod_dir(pod_dir.string());
  return dir ? dir->uid : "";
}

std::optional<PodInfo> lookup_by_container(const fs::path& log_root, std::string_view container_id) {
  if (container_id.size() != kContainerIdLen) return std::nullopt;
  fs::path dir = log_root / "containers";
  for (const auto& name : list_names(dir)) {
    auto info = parse_container_link(name, container_id);
    if (!info) continue;
    info->uid = uid_from_link_target(dir / name);
    return info;
  }
  return std::nullopt;
}

// Only directories count as containers; one directory means the container is known.
std::string sole_container(const fs::path& pod_dir) {
  std::string found;
  int count = 0;
  for (const auto& name : list_names(pod_dir)) {
    std::error_code ec;
    if (!fs::is_directory(pod_dir / name, ec)) continue;
    found = name;
    ++count;
  }
  return count == 1 ? found : "";
}

std::optional<PodInfo> lookup_by_uid(const fs::path& log_root, std::string_view pod_uid) {
  if (pod_uid.empty()) return std::nullopt;
  std::string want = normalize_uid(pod_uid);
  fs::path pods = log_root / "pods";
  for (const auto& name : list_names(pods)) {
    auto dir = parse_pod_dir(name);
    if (!dir || normalize_uid(dir->uid) != want) continue;
    PodInfo info;
    info.uid = want;
    info.namespace_name = dir->namespace_name;
    info.pod_name = dir->pod_name;
    info.container_name = sole_container(pods / name);
    info.source = std::string(kSource);
    return info;
  }
  return std::nullopt;
}

}  // namespace

std::optional<PodInfo> lookup_pod(std::string_view pod_uid, std::string_view container_id,
                                  const std::string& log_root) {
  fs::path root(log_root);
  if (auto info = lookup_by_container(root, container_id)) {
    if (info->uid.empty()) info->uid = normalize_uid(pod_uid);
    return info;
  }
  return lookup_by_uid(root, pod_uid);
}

}  // namespace credtrace::identity
