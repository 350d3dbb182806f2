// Public API of credential path patterns: the default globs (credential files, MCP configs) and path matching.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "credfiles/finding.h"

namespace credtrace::credfiles {

// Glob syntax, per path component ('/'-separated; empty and "." components are ignored):
//   '*' any run inside one component, '?' one character, '[a-z]' a class (fnmatch(3), case-sensitive),
//   '**' as a whole component: zero or more components.
// Anchoring:
//   "/run/secrets/*"      absolute: matched from the root (the path must be absolute);
//   "~/.aws/credentials"  '~' is any home: matches ".aws/credentials" at the end of any path, so /root, /home/u,
//                         a container's home or a service account's home all match;
//   ".env*", ".cursor/mcp.json"  relative: matches the last components of any path (a bare name: the file name).
// A glob starting with '!' excludes: a path matching any exclude never matches (excludes are checked first).
struct PathPattern {
  std::string glob;
  std::string kind;  // what the file is: "aws_credentials", "ssh_private_key", "mcp_config", …
  Format format = Format::text;
};

struct PathMatch {
  std::string glob;  // the pattern that matched
  std::string kind;
  Format format = Format::text;
};

// AWS (~/.aws/credentials, ~/.aws/config), GitHub CLI hosts.yml, ~/.docker/config.json, kubeconfigs, .netrc,
// .npmrc, .pypirc, .git-credentials, gcloud ADC and service-account JSON, Azure CLI token caches, SSH private
// keys (not .pub), *.pem/*.key, .env*, Kubernetes service-account tokens, /run/secrets/*, and every MCP client
// config file agent/mcp knows. Each entry is documented in path_patterns.cpp.
std::vector<PathPattern> default_credential_path_patterns();

// The first non-exclude pattern matching `path` (after no exclude matched); nullopt when none does.
std::optional<PathMatch> match_credential_path(std::string_view path, const std::vector<PathPattern>& patterns);

// One glob (without the leading '!') against one path, with the semantics above.
bool path_glob_matches(std::string_view glob, std::string_view path);

}  // namespace credtrace::credfiles
