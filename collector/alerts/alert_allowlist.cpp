// Destination allow-list for alerts: host globs per credential type and per workload id, loaded from YAML or JSON.
#include "alerts/alert_allowlist.h"

#include <fnmatch.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace credtrace::collector {
namespace {

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

// "API.example.com.:443" → "api.example.com"; IPv6 literals keep their colons ("[::1]:80" → "::1").
std::string normal_host(std::string host) {
  host = lowercase(std::move(host));
  if (host.starts_with('[')) {
    auto end = host.find(']');
    return end == std::string::npos ? host : host.substr(1, end - 1);
  }
  if (auto colon = host.find(':'); colon != std::string::npos && host.find(':', colon + 1) == std::string::npos)
    host.resize(colon);
  while (!host.empty() && host.back() == '.') host.pop_back();
  return host;
}

Status read_section(const YAML::Node& node, const std::string& name,
                    std::map<std::string, std::vector<std::string>>& out) {
  if (!node) return {};
  if (!node.IsMap()) return Status::error("allow-list: '" + name + "' must map names to lists of host globs");
  for (const auto& entry : node) {
    const std::string key = entry.first.as<std::string>();
    if (!entry.second.IsSequence()) return Status::error("allow-list: " + name + "." + key + " must be a list");
    auto& globs = out[key];
    for (const auto& glob : entry.second) {
      if (!glob.IsScalar() || glob.as<std::string>().empty())
        return Status::error("allow-list: " + name + "." + key + " holds a non-string or empty glob");
      globs.push_back(lowercase(glob.as<std::string>()));
    }
  }
  return {};
}

Status parse_root(const YAML::Node& root, Allowlist& out) {
  if (root.IsNull()) return {};
  if (!root.IsMap()) return Status::error("allow-list: the top level must be a mapping");
  for (const auto& entry : root) {
    const std::string key = entry.first.as<std::string>();
    if (key != "credential_types" && key != "workloads")
      return Status::error("allow-list: unknown key '" + key + "' (use credential_types and workloads)");
  }
  if (Status s = read_section(root["credential_types"], "credential_types", out.credential_types); !s.ok()) return s;
  return read_section(root["workloads"], "workloads", out.workloads);
}

bool matches_any(const std::vector<std::string>& globs, const std::string& host) {
  return std::any_of(globs.begin(), globs.end(),
                     [&](const std::string& glob) { return fnmatch(glob.c_str(), host.c_str(), 0) == 0; });
}

bool denied_by(const std::map<std::string, std::vector<std::string>>& lists, const std::string& key,
               const std::string& host) {
  auto it = lists.find(key);
  return it != lists.end() && !matches_any(it->second, host);
}

// The union of every list whose key is the workload's id or one of its names; denied when such lists exist and no
// glob of any of them matches.
bool workload_denied(const std::map<std::string, std::vector<std::string>>& lists, const std::string& id,
                     const std::vector<std::string>& names, const std::string& host) {
  bool listed = false;
  auto allows = [&](const std::string& key) {
    auto it = lists.find(key);
    if (it == lists.end()) return false;
    listed = true;
    return matches_any(it->second, host);
  };
  if (allows(id)) return false;
  for (const auto& name : names)
    if (allows(name)) return false;
  return listed;
}

}  // namespace

Status parse_allowlist(const std::string& text, Allowlist& out) {
  out = {};
  try {  // yaml-cpp reports errors by exception: they stop here
    return parse_root(YAML::Load(text), out);
  } catch (const YAML::Exception& e) {
    return Status::error(std::string("allow-list: ") + e.what());
  }
}

Status load_allowlist(const std::string& path, Allowlist& out) {
  std::ifstream in(path);
  if (!in) return Status::error("cannot read allow-list " + path);
  std::stringstream text;
  text << in.rdbuf();
  if (Status s = parse_allowlist(text.str(), out); !s.ok()) return Status::error(path + ": " + s.message());
  return {};
}

AllowlistVerdict check_allowlist(const Allowlist& list, const std::string& credential_type,
                                 const std::string& workload_id, const std::string& host,
                                 const std::vector<std::string>& workload_names) {
  std::string normal = normal_host(host);
  return AllowlistVerdict{denied_by(list.credential_types, credential_type, normal),
                          workload_denied(list.workloads, workload_id, workload_names, normal)};
}

}  // namespace credtrace::collector
