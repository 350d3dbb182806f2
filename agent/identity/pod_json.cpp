// Pod JSON → CachedPod: metadata (uid, names, labels, controller owner), spec (service account, container names)
// and status (container ids, QoS class). Nothing else of the object is read or kept.
#include "identity/pod_json.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

#include "secrets/argv_redact.h"
#include "secrets/env_names.h"

namespace credtrace::identity {
namespace {

using nlohmann::json;

std::string string_at(const json& object, const char* key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

const json& member(const json& object, const char* key) {
  static const json kNull;
  if (!object.is_object()) return kNull;
  auto it = object.find(key);
  return it == object.end() ? kNull : *it;
}

// "app.kubernetes.io/api-token" → "API_TOKEN": the last path segment spelled the way env-name globs read it.
std::string env_style_name(const std::string& key) {
  std::string name = key.substr(key.rfind('/') == std::string::npos ? 0 : key.rfind('/') + 1);
  for (char& c : name) c = std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::toupper(c)) : '_';
  return name;
}

void read_labels(const json& metadata, const PodLabelLimits& limits, CachedPod& pod, uint64_t* dropped) {
  const json& labels = member(metadata, "labels");
  if (!labels.is_object()) return;
  for (auto it = labels.begin(); it != labels.end(); ++it) {
    if (!it.value().is_string()) continue;
    const std::string value = it.value().get<std::string>();
    if (pod.labels.size() >= limits.max_labels || it.key().size() + value.size() > limits.max_label_bytes) {
      pod.labels_truncated = true;
      if (dropped) ++*dropped;
      continue;
    }
    pod.labels.emplace_back(it.key(), masked_label_value(it.key(), value));
  }
}

void read_owner(const json& metadata, CachedPod& pod) {
  const json& owners = member(metadata, "ownerReferences");
  if (!owners.is_array()) return;
  for (const auto& owner : owners) {
    const json& controller = member(owner, "controller");
    if (!controller.is_boolean() || !controller.get<bool>()) continue;
    pod.owner_kind = string_at(owner, "kind");
    pod.owner_name = string_at(owner, "name");
    return;
  }
}

void read_container_names(const json& spec, CachedPod& pod) {
  for (const char* list : {"initContainers", "containers", "ephemeralContainers"}) {
    const json& containers = member(spec, list);
    if (!containers.is_array()) continue;
    for (const auto& c : containers)
      if (std::string name = string_at(c, "name"); !name.empty()) pod.container_names.push_back(name);
  }
}

void read_container_ids(const json& status, CachedPod& pod) {
  for (const char* list : {"initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"}) {
    const json& statuses = member(status, list);
    if (!statuses.is_array()) continue;
    for (const auto& s : statuses) {
      std::string id = strip_runtime_prefix(string_at(s, "containerID"));
      std::string name = string_at(s, "name");
      if (!id.empty() && !name.empty()) pod.containers[id] = name;
    }
  }
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

}  // namespace

std::string masked_label_value(const std::string& key, const std::string& value) {
  static const secrets::NamePatterns names(secrets::default_secret_env_patterns(),
                                           secrets::default_secret_env_excludes());
  if (auto finding = secrets::inspect_env_var(env_style_name(key), value, names))
    return "<redacted:" + std::string(finding->type) + ">";
  return secrets::redact_text(value);
}

std::optional<CachedPod> pod_from_json(const json& object, const PodLabelLimits& limits, uint64_t* labels_dropped) {
  const json& metadata = member(object, "metadata");
  CachedPod pod;
  pod.uid = string_at(metadata, "uid");
  if (pod.uid.empty()) return std::nullopt;
  pod.namespace_name = string_at(metadata, "namespace");
  pod.name = string_at(metadata, "name");
  read_labels(metadata, limits, pod, labels_dropped);
  read_owner(metadata, pod);
  const json& spec = member(object, "spec");
  pod.service_account = string_at(spec, "serviceAccountName");
  if (pod.service_account.empty()) pod.service_account = string_at(spec, "serviceAccount");  // the older field
  read_container_names(spec, pod);
  const json& status = member(object, "status");
  read_container_ids(status, pod);
  pod.qos_class = lower(string_at(status, "qosClass"));
  return pod;
}

}  // namespace credtrace::identity
