// What a config reload (SIGHUP) may change: the key paths that differ between two config files, split into those the
// running agent applies and those that need a restart.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/agent_config.h"

namespace credtrace::config {

// Keys a running agent applies at a reload without detaching a probe or losing an event.
const std::set<std::string>& reloadable_keys();

// Copies the value(s) behind one reloadable key from next into running (an extra_* list and its full list are one
// value: the loader merges them). false, and nothing copied, for a key that is not reloadable.
bool copy_reloadable_key(const std::string& key, const AgentConfig& next, AgentConfig& running);

struct ReloadPlan {
  std::optional<AgentConfig> config;  // the new config, validated (empty: refused whole, error says why)
  std::string error;
  std::vector<std::string> applied;         // changed keys the agent applies now
  std::vector<std::string> needs_restart;   // changed keys kept at their running value until a restart
};

// Compares the YAML text the agent started with and the file's text now (key paths such as "log.level"; a list is one
// key). A new text that does not validate is refused whole.
ReloadPlan plan_reload(const std::string& running_text, const std::string& new_text, const std::string& name_for_errors);

}  // namespace credtrace::config
