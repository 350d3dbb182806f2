// Plain-text credential parser: typed tokens, URL passwords and secret query values, line by line.
#include <string>

#include "credfiles/parsers.h"
#include "credfiles/text_lines.h"
#include "credfiles/value_rules.h"

namespace credtrace::credfiles {

ParseResult parse_text(std::string_view text) {
  detail::FindingCollector collector;
  detail::TextLines lines(text);
  std::string_view line;
  while (lines.next(line)) collector.scan_embedded("line " + std::to_string(lines.number()), line, lines.number());
  return collector.take();
}

}  // namespace credtrace::credfiles
