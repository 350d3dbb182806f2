// Internal: JSON and YAML documents flattened into scalar leaves with their key path and 1-based line.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "secrets/fingerprint.h"

namespace credtrace::credfiles::detail {

struct Leaf {
  std::string path;            // "auths.ghcr.io.auth", "users[0].user.token", "mcpServers[2].env.X"
  std::string name;            // the nearest object key ("auth", "token"; "args" for "args[1]"); "" at the root
  secrets::SecretBytes value;  // the scalar as text (numbers as written by the parser)
  int line = 0;                // 1-based
};

struct Leaves {
  std::vector<Leaf> leaves;
  std::string error;  // parse error (position only), or a limit hit; leaves before it are kept
};

// Limits that keep hostile documents (deep nesting, YAML alias bombs) cheap.
inline constexpr size_t kMaxLeafDepth = 256;
inline constexpr size_t kMaxLeafNodes = 200000;

// Path components joined as agent/mcp joins field paths: "a.b", "a[0]", "a[0].b".
void append_path_component(std::string& path, std::string_view component, bool is_index);

// JSON text, JSONC comments and trailing commas allowed. String and number leaves (not booleans or null).
Leaves json_leaves(std::string_view text);

// YAML text (every document). Scalar leaves, except plain true/false/yes/no/on/off/null/~.
Leaves yaml_leaves(std::string_view text);

}  // namespace credtrace::credfiles::detail

namespace credtrace::credfiles::detail {

class FindingCollector;

// Findings of structured leaves: docker-style "auth" (base64 user:password), base64 PEM "*-key-data",
// everything else by FindingCollector::judge with the leaf's name.
void collect_leaf_findings(const Leaf& leaf, FindingCollector& collector);

}  // namespace credtrace::credfiles::detail
