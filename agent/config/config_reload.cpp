// Config reload planning: flattened YAML key paths of the running and the new config, compared.
#include "config/config_reload.h"

#include <yaml-cpp/yaml.h>

#include <map>

namespace credtrace::config {
namespace {

// Every scalar or list under a key path ("a.b"), as YAML text; maps recurse. Lists compare whole.
void flatten(const YAML::Node& node, const std::string& path, std::map<std::string, std::string>& out) {
  if (node.IsMap()) {
    for (const auto& entry : node) flatten(entry.second, path.empty() ? entry.first.as<std::string>()
                                                                       : path + "." + entry.first.as<std::string>(), out);
    return;
  }
  YAML::Emitter emitter;
  emitter << YAML::Flow << node;
  out[path] = emitter.c_str();
}

std::map<std::string, std::string> flattened(const std::string& text) {
  std::map<std::string, std::string> out;
  YAML::Node root = YAML::Load(text);
  if (root.IsMap()) flatten(root, "", out);
  return out;
}

}  // namespace

const std::set<std::string>& reloadable_keys() {
  static const std::set<std::string> keys = {"log.level", "health_interval_seconds"};
  return keys;
}

ReloadPlan plan_reload(const std::string& running_text, const std::string& new_text, const std::string& name_for_errors) {
  ReloadPlan plan;
  LoadResult loaded = load_config_text(new_text, name_for_errors);
  if (!loaded.config) {
    plan.error = loaded.error;
    return plan;
  }
  std::map<std::string, std::string> before, after;
  try {
    before = flattened(running_text);
    after = flattened(new_text);
  } catch (const YAML::Exception& e) {
    plan.error = name_for_errors + ": " + e.what();
    return plan;
  }
  std::set<std::string> changed;
  for (const auto& [key, value] : after)
    if (auto it = before.find(key); it == before.end() || it->second != value) changed.insert(key);
  for (const auto& [key, value] : before)
    if (!after.count(key)) changed.insert(key);
  for (const auto& key : changed)
    (reloadable_keys().count(key) ? plan.applied : plan.needs_restart).push_back(key);
  plan.config = std::move(loaded.config);
  return plan;
}

}  // namespace credtrace::config
