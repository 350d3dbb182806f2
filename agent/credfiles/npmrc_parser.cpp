// npmrc credential parser: registry-scoped _authToken, _auth (base64 user:password), _password (base64).
#include <optional>
#include <string>

#include "common/base64.h"
#include "credfiles/parsers.h"
#include "credfiles/text_lines.h"
#include "credfiles/value_rules.h"
#include "secrets/placeholders.h"

namespace credtrace::credfiles {
namespace {

using detail::trim_blank;

std::string_view unquote(std::string_view value) {
  if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front()) {
    return value.substr(1, value.size() - 2);
  }
  return value;
}

// "//registry.npmjs.org/:_authToken" → "_authToken"; "always-auth" → "always-auth".
std::string_view setting_name(std::string_view key) {
  if (!key.starts_with("//")) return key;
  size_t colon = key.rfind(':');
  return colon == std::string_view::npos ? key : key.substr(colon + 1);
}

bool is_printable(std::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return !text.empty();
}

// _password holds base64(password); the decoded password is what is sent (Basic auth) and fingerprinted.
void add_password(detail::FindingCollector& collector, std::string_view key, std::string_view value, int line) {
  std::optional<std::string> decoded = common::base64_decode(value, common::Base64Alphabet::standard_or_url);
  if (decoded && is_printable(*decoded) && !secrets::is_placeholder(value) && !detail::has_reference(value)) {
    collector.add_secret(key, *decoded, "password", 0, line);
  } else {
    collector.judge(key, "_password", value, line);
  }
  if (decoded) detail::wipe(*decoded);
}

void read_line(detail::FindingCollector& collector, std::string_view raw, int number) {
  std::string_view line = trim_blank(raw);
  if (line.empty() || line.front() == '#' || line.front() == ';' || line.front() == '[') return;
  size_t equals = line.find('=');
  if (equals == std::string_view::npos) {
    collector.add_error("line " + std::to_string(number) + ": not key=value");
    return;
  }
  std::string_view key = trim_blank(line.substr(0, equals));
  std::string_view value = unquote(trim_blank(line.substr(equals + 1)));
  std::string_view name = setting_name(key);
  if (value.empty()) return;
  if (name == "_auth" && !detail::has_reference(value) && collector.add_basic_auth(key, value, number)) return;
  if (name == "_password") return add_password(collector, key, value, number);
  collector.judge(key, name, value, number);
}

}  // namespace

ParseResult parse_npmrc(std::string_view text) {
  detail::FindingCollector collector;
  detail::TextLines lines(text);
  std::string_view line;
  while (lines.next(line)) read_line(collector, line, lines.number());
  return collector.take();
}

}  // namespace credtrace::credfiles
