// Internal: rules shared by request and response credential extraction (carriers, generic rule, findings).
#include "protocols/credential_rules.h"

#include <array>
#include <optional>

#include "protocols/jsonrpc/json_scanner.h"
#include "secrets/detectors.h"
#include "secrets/placeholders.h"

namespace credtrace::protocols::detail {
namespace {

constexpr std::array<std::string_view, 4> kCookieNameParts = {"session", "token", "auth", "sid"};

}  // namespace

std::string Carrier::text() const {
  if (!named_) return std::string(kind_);
  bool unsafe = name_.size() > kMaxCarrierName || secrets::classify_value(name_) || !secrets::scan_text(name_).empty();
  return std::string(kind_) + ":" + (unsafe ? std::string("<redacted>") : name_);
}

std::string_view decode_json_string(std::string_view raw, std::string& buffer) {
  wipe(buffer);
  buffer.clear();
  jsonrpc::unescape(raw, buffer);
  return buffer;
}

std::string_view unquote(std::string_view value) {
  value = trim_ows(value);
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
  return value;
}

bool passes_generic_rule(std::string_view value) {
  return value.size() >= kGenericMinLength && shannon_entropy(value) >= kGenericMinEntropy &&
         !secrets::is_placeholder(value);
}

bool is_structured_header(std::string_view lower_name) {
  switch (lower_name.size()) {  // by length first: one compare for most names
    case 3: return lower_name == "age";
    case 4: return lower_name == "date" || lower_name == "vary";  // not Host: it can carry userinfo ("key@host")
    case 6: return lower_name == "accept";
    case 7: return lower_name == "expires";
    case 10: return lower_name == "connection" || lower_name == "keep-alive";
    case 12: return lower_name == "content-type";
    case 13: return lower_name == "cache-control" || lower_name == "last-modified" || lower_name == "accept-ranges";
    case 14: return lower_name == "content-length";
    case 15: return lower_name == "accept-encoding" || lower_name == "accept-language";
    case 16: return lower_name == "content-encoding";
    case 17: return lower_name == "transfer-encoding";
    default: return false;
  }
}

bool is_session_cookie_name(std::string_view name) {
  return std::any_of(kCookieNameParts.begin(), kCookieNameParts.end(),
                     [&](std::string_view part) { return icontains(name, part); });
}

void Findings::add(std::string_view value, std::string_view type, size_t prefix_len, const Carrier& where,
                   std::string_view scheme, std::string_view user) {
  std::string carried_by = where.text();
  for (const CarriedCredential& found : found_) {
    if (found.value == value && found.carrier == carried_by) return;
  }
  found_.push_back(CarriedCredential{std::string(value), std::string(type), prefix_len, std::move(carried_by),
                                     std::string(scheme), std::string(user)});
}

void Findings::add_contextual(std::string_view raw, std::string_view generic_type, const Carrier& where,
                              std::string_view scheme) {
  std::string_view value = unquote(raw);
  if (value.empty() || secrets::is_placeholder(value)) return;
  if (std::optional<secrets::Detection> typed = secrets::classify_value(value)) {
    add(value.substr(typed->offset, typed->length), typed->type, typed->prefix_len, where, scheme);
  } else if (passes_generic_rule(value)) {
    add(value, generic_type, 0, where, scheme);
  }
}

void Findings::add_if_typed(std::string_view raw, const Carrier& where) {
  std::string_view value = unquote(raw);
  std::optional<secrets::Detection> typed = secrets::classify_value(value);
  if (typed && !secrets::is_placeholder(value)) {
    add(value.substr(typed->offset, typed->length), typed->type, typed->prefix_len, where);
  }
}

void Findings::add_scanned(std::string_view text, const Carrier& where) {
  for (const secrets::Detection& d : secrets::scan_text(text)) {
    std::string_view value = text.substr(d.offset, d.length);
    if (!secrets::is_placeholder(value)) add(value, d.type, d.prefix_len, where);
  }
}

}  // namespace credtrace::protocols::detail
