// Whole-file token parser: Kubernetes service-account tokens and /run/secrets/NAME files.
#include <algorithm>
#include <string>

#include "credfiles/parsers.h"
#include "credfiles/text_lines.h"
#include "credfiles/value_rules.h"
#include "secrets/detectors.h"
#include "secrets/jwt.h"
#include "secrets/placeholders.h"

namespace credtrace::credfiles {

ParseResult parse_token_file(std::string_view text) {
  detail::FindingCollector collector;
  std::string_view value = detail::trim_blank(text);
  if (value.empty()) return collector.take();
  size_t leading = static_cast<size_t>(value.data() - text.data());
  int line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(leading), '\n'));
  if (secrets::is_placeholder(value)) {
    collector.add_reference("content", "SECRET", value, line);
    return collector.take();
  }
  std::string type = "generic_secret";
  size_t prefix_len = 0;
  if (auto typed = secrets::classify_value(value); typed && typed->offset == 0 && typed->length == value.size()) {
    type = std::string(typed->type);
    prefix_len = typed->prefix_len;
  } else if (secrets::decode_jwt(value)) {
    type = "jwt";
  }
  collector.add_secret("content", value, type, prefix_len, line);
  return collector.take();
}

}  // namespace credtrace::credfiles
