// Request-target handling for HTTP/1.1: host extraction, query value removal and path credential redaction.
#include "protocols/http1/request_target.h"

#include "protocols/text.h"
#include "secrets/detectors.h"

namespace credtrace::protocols::http1::detail {
namespace {

// Replaces every typed credential scan_text finds with "<redacted:TYPE>".
std::string redact_typed(std::string_view text) {
  std::string out;
  size_t done = 0;
  for (const secrets::Detection& d : secrets::scan_text(text)) {
    out.append(text.substr(done, d.offset - done));
    out.append("<redacted:").append(d.type).append(">");
    done = d.offset + d.length;
  }
  out.append(text.substr(done));
  return out;
}

bool starts_with_scheme(std::string_view target, std::string_view scheme) {
  return target.size() > scheme.size() && protocols::detail::iequals(target.substr(0, scheme.size()), scheme);
}

// Drops "user:password@" from an authority.
std::string_view strip_userinfo(std::string_view authority) {
  size_t at = authority.rfind('@');
  return at == std::string_view::npos ? authority : authority.substr(at + 1);
}

std::string_view without_fragment(std::string_view target) { return target.substr(0, target.find('#')); }

std::string safe_query_name(std::string_view name) {
  if (secrets::classify_value(name) || !secrets::scan_text(name).empty()) return "<redacted>";
  return std::string(name);
}

}  // namespace

std::string strip_query_values(std::string_view query) {
  std::string out;
  size_t start = 0;
  while (start <= query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    std::string_view part = query.substr(start, end - start);
    size_t eq = part.find('=');
    out.append(safe_query_name(part.substr(0, eq)));
    if (eq != std::string_view::npos) out.push_back('=');
    if (end < query.size()) out.push_back('&');
    start = end + 1;
  }
  return out;
}

SplitTarget split_target(std::string_view method, std::string_view target) {
  SplitTarget split;
  if (method == "CONNECT") {
    split.host = protocols::detail::to_lower(strip_userinfo(target));
    return split;
  }
  target = without_fragment(target);
  if (starts_with_scheme(target, "http://") || starts_with_scheme(target, "https://")) {
    size_t authority_start = target.find("//") + 2;
    size_t authority_end = target.find_first_of("/?", authority_start);
    if (authority_end == std::string_view::npos) authority_end = target.size();
    split.host = protocols::detail::to_lower(strip_userinfo(target.substr(authority_start, authority_end - authority_start)));
    target = target.substr(authority_end);
    if (target.empty() || target.front() == '?') split.path.push_back('/');
  }
  size_t question = target.find('?');
  split.path += redact_typed(target.substr(0, question));
  if (question == std::string_view::npos) return split;
  std::string_view query = target.substr(question + 1);
  split.raw_query = std::string(query);
  split.query_keys_only = strip_query_values(query);
  split.path.append("?").append(split.query_keys_only);
  return split;
}

}  // namespace credtrace::protocols::http1::detail
