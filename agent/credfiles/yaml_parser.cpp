// YAML credential parser: GitHub CLI hosts.yml, kubeconfig, any YAML.
#include "credfiles/parsers.h"
#include "credfiles/structured_leaves.h"
#include "credfiles/value_rules.h"

namespace credtrace::credfiles {

ParseResult parse_yaml(std::string_view text) {
  detail::Leaves leaves = detail::yaml_leaves(text);
  detail::FindingCollector collector;
  for (const detail::Leaf& leaf : leaves.leaves) detail::collect_leaf_findings(leaf, collector);
  if (!leaves.error.empty()) collector.add_error(leaves.error);
  return collector.take();
}

}  // namespace credtrace::credfiles
