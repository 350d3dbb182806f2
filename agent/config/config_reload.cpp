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

using Copy = void (*)(const AgentConfig& next, AgentConfig& running);

// Each reloadable key and what it copies. The agent then tells the part that uses it (agent.cpp, apply_reload).
const std::map<std::string, Copy>& reload_table() {
  static const std::map<std::string, Copy> table = {
      {"log.level", [](const AgentConfig& n, AgentConfig& r) { r.log.level = n.log.level; }},
      {"health_interval_seconds",
       [](const AgentConfig& n, AgentConfig& r) { r.health_interval_seconds = n.health_interval_seconds; }},
      {"probes.poll_interval_ms",
       [](const AgentConfig& n, AgentConfig& r) { r.probes.poll_interval_ms = n.probes.poll_interval_ms; }},
      {"output.json", [](const AgentConfig& n, AgentConfig& r) { r.output.json_path = n.output.json_path; }},
      {"mcp.server_patterns", [](const AgentConfig& n, AgentConfig& r) { r.mcp.server_patterns = n.mcp.server_patterns; }},
      {"mcp.extra_server_patterns",
       [](const AgentConfig& n, AgentConfig& r) { r.mcp.server_patterns = n.mcp.server_patterns; }},
      {"mcp.client_patterns", [](const AgentConfig& n, AgentConfig& r) { r.mcp.client_patterns = n.mcp.client_patterns; }},
      {"mcp.extra_client_patterns",
       [](const AgentConfig& n, AgentConfig& r) { r.mcp.client_patterns = n.mcp.client_patterns; }},
      {"mcp.extra_executables",
       [](const AgentConfig& n, AgentConfig& r) { r.mcp.extra_executables = n.mcp.extra_executables; }},
      {"secrets.env_name_patterns",
       [](const AgentConfig& n, AgentConfig& r) { r.secrets.env_name_patterns = n.secrets.env_name_patterns; }},
      {"secrets.extra_env_name_patterns",
       [](const AgentConfig& n, AgentConfig& r) { r.secrets.env_name_patterns = n.secrets.env_name_patterns; }},
      {"secrets.env_name_excludes",
       [](const AgentConfig& n, AgentConfig& r) { r.secrets.env_name_excludes = n.secrets.env_name_excludes; }},
      {"secrets.extra_file_patterns",
       [](const AgentConfig& n, AgentConfig& r) { r.secrets.extra_file_patterns = n.secrets.extra_file_patterns; }},
      {"secrets.max_file_bytes",
       [](const AgentConfig& n, AgentConfig& r) { r.secrets.max_file_bytes = n.secrets.max_file_bytes; }},
      {"credential_use.aggregation_window_seconds",
       [](const AgentConfig& n, AgentConfig& r) {
         r.credential_use.aggregation_window_seconds = n.credential_use.aggregation_window_seconds;
       }},
      // The collector sink is restarted with the new settings (its spool on disk carries what was not sent yet).
      {"collector.url", [](const AgentConfig& n, AgentConfig& r) { r.collector.url = n.collector.url; }},
      {"collector.token_file", [](const AgentConfig& n, AgentConfig& r) { r.collector.token_file = n.collector.token_file; }},
      {"collector.ca_file", [](const AgentConfig& n, AgentConfig& r) { r.collector.ca_file = n.collector.ca_file; }},
      {"collector.cert_file", [](const AgentConfig& n, AgentConfig& r) { r.collector.cert_file = n.collector.cert_file; }},
      {"collector.key_file", [](const AgentConfig& n, AgentConfig& r) { r.collector.key_file = n.collector.key_file; }},
      {"collector.batch_max_events",
       [](const AgentConfig& n, AgentConfig& r) { r.collector.batch_max_events = n.collector.batch_max_events; }},
      {"collector.batch_max_bytes",
       [](const AgentConfig& n, AgentConfig& r) { r.collector.batch_max_bytes = n.collector.batch_max_bytes; }},
      {"collector.flush_interval_ms",
       [](const AgentConfig& n, AgentConfig& r) { r.collector.flush_interval_ms = n.collector.flush_interval_ms; }},
      {"collector.spool_max_bytes",
       [](const AgentConfig& n, AgentConfig& r) { r.collector.spool_max_bytes = n.collector.spool_max_bytes; }},
      {"collector.retry_initial_ms",
       [](const AgentConfig& n, AgentConfig& r) { r.collector.retry_initial_ms = n.collector.retry_initial_ms; }},
      {"collector.retry_max_ms",
       [](const AgentConfig& n, AgentConfig& r) { r.collector.retry_max_ms = n.collector.retry_max_ms; }},
  };
  return table;
}

}  // namespace

const std::set<std::string>& reloadable_keys() {
  static const std::set<std::string> keys = [] {
    std::set<std::string> out;
    for (const auto& [key, copy] : reload_table()) out.insert(key);
    return out;
  }();
  return keys;
}

bool copy_reloadable_key(const std::string& key, const AgentConfig& next, AgentConfig& running) {
  auto it = reload_table().find(key);
  if (it == reload_table().end()) return false;
  it->second(next, running);
  return true;
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
