// Findings of JSON/YAML leaves: base64 "auth" pairs, base64 PEM key data, and the generic value rules.
#include <optional>
#include <string>

#include "common/base64.h"
#include "credfiles/pem_blocks.h"
#include "credfiles/structured_leaves.h"
#include "credfiles/value_rules.h"

namespace credtrace::credfiles::detail {
namespace {

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// kubeconfig client-key-data: base64 of a PEM private key; the key body is what gets fingerprinted.
bool add_base64_pem_key(const Leaf& leaf, FindingCollector& collector) {
  std::optional<std::string> decoded =
      common::base64_decode(leaf.value.view(), common::Base64Alphabet::standard_or_url);
  if (!decoded) return false;
  bool added = false;
  for (const PemBlock& block : find_pem_blocks(*decoded)) {
    if (block.type.empty() || block.body.size() == 0) continue;
    collector.add_secret(leaf.path, block.body.view(), block.type, 0, leaf.line);
    added = true;
  }
  wipe(*decoded);
  return added;
}

}  // namespace

void collect_leaf_findings(const Leaf& leaf, FindingCollector& collector) {
  std::string name = normalized_name(leaf.name);
  if ((name == "AUTH" || name == "_AUTH") && collector.add_basic_auth(leaf.path, leaf.value.view(), leaf.line)) return;
  if (ends_with(name, "_KEY_DATA") && add_base64_pem_key(leaf, collector)) return;
  collector.judge(leaf.path, leaf.name, leaf.value.view(), leaf.line);
}

}  // namespace credtrace::credfiles::detail
