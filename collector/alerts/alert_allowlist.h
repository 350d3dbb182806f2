// Destination allow-list for alerts: host globs per credential type and per workload id, loaded from YAML or JSON.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace credtrace::collector {

struct Allowlist {
  std::map<std::string, std::vector<std::string>> credential_types;  // type → host globs
  // workload → host globs; a key is a workload id (wl_…) or one of its human names (MCP server name, systemd unit,
  // container id, "namespace/pod" or pod): every list whose key names the workload applies, as one.
  std::map<std::string, std::vector<std::string>> workloads;
  bool empty() const { return credential_types.empty() && workloads.empty(); }
};

// Which configured lists a destination breaks (empty: allowed, or no list applies).
struct AllowlistVerdict {
  bool type_denied = false;      // a list exists for the credential type and no glob matches
  bool workload_denied = false;  // a list exists for the workload and no glob matches
  bool denied() const { return type_denied || workload_denied; }
};

// Parses the file text (YAML; JSON is YAML too): {credential_types: {TYPE: [glob, ...]}, workloads: {ID: [...]}}.
Status parse_allowlist(const std::string& text, Allowlist& out);
Status load_allowlist(const std::string& path, Allowlist& out);

// `host` is matched case-insensitively, without a trailing dot or ":port"; globs use fnmatch (*, ?, [...]).
AllowlistVerdict check_allowlist(const Allowlist& list, const std::string& credential_type,
                                 const std::string& workload_id, const std::string& host,
                                 const std::vector<std::string>& workload_names = {});

}  // namespace credtrace::collector
