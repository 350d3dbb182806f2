// PEM credential parser: private-key blocks (type and body); certificates and public keys are not credentials.
#include <string>

#include "credfiles/parsers.h"
#include "credfiles/pem_blocks.h"
#include "credfiles/value_rules.h"

namespace credtrace::credfiles {

ParseResult parse_pem(std::string_view text) {
  detail::FindingCollector collector;
  size_t index = 0;
  for (const detail::PemBlock& block : detail::find_pem_blocks(text)) {
    if (!block.terminated) {
      collector.add_error("line " + std::to_string(block.begin_line) + ": PEM block without its END line");
    }
    if (block.type.empty() || block.body.size() == 0) continue;
    collector.add_secret("private_key[" + std::to_string(index++) + "]", block.body.view(), block.type, 0,
                         block.begin_line);
  }
  return collector.take();
}

}  // namespace credtrace::credfiles
