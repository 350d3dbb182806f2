// JWT audience against the destination host: URL and bare-host aud values compared case-insensitively, opaque
// identifiers left uncompared (counted), one audience_mismatch per (fingerprint, host).
#include "sensors/tls/audience_check.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>

namespace credtrace::sensors {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
  return out;
}

bool starts_with_icase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && lower(text.substr(0, prefix.size())) == prefix;
}

bool is_ipv6_literal(std::string_view text) {
  in6_addr address{};
  return inet_pton(AF_INET6, std::string(text).c_str(), &address) == 1;
}

bool is_ipv4_literal(std::string_view text) {
  in_addr address{};
  return inet_pton(AF_INET, std::string(text).c_str(), &address) == 1;
}

// "name[:port]" or "[v6][:port]" → (name, whether the port part, if any, is digits).
std::pair<std::string_view, bool> split_port(std::string_view authority) {
  auto digits = [](std::string_view port) {
    return !port.empty() && port.size() <= 5 && std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (authority.starts_with('[')) {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return {authority, false};
    std::string_view rest = authority.substr(close + 1);
    return {authority.substr(1, close - 1), rest.empty() || (rest[0] == ':' && digits(rest.substr(1)))};
  }
  size_t colon = authority.find(':');
  if (colon == std::string_view::npos) return {authority, true};
  if (authority.find(':', colon + 1) != std::string_view::npos) return {authority, is_ipv6_literal(authority)};  // bare v6
  return {authority.substr(0, colon), digits(authority.substr(colon + 1))};
}

std::string without_trailing_dot(std::string name) {
  if (!name.empty() && name.back() == '.') name.pop_back();
  return name;
}

// A DNS name: labels of letters, digits, '-' and '_', at least two of them (or "localhost").
bool is_dns_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  if (name == "localhost") return true;
  size_t dots = 0;
  size_t label = 0;
  bool letter = false;
  for (char c : name) {
    if (c == '.') {
      if (label == 0) return false;
      ++dots;
      label = 0;
      continue;
    }
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alpha && !(c >= '0' && c <= '9') && c != '-' && c != '_') return false;
    letter = letter || alpha;
    ++label;
  }
  return dots >= 1 && label > 0 && letter;
}

// The host of a bare "name[:port]" when it is a DNS name or an address literal.
std::optional<std::string> bare_host(std::string_view authority) {
  auto [name, port_ok] = split_port(authority);
  if (!port_ok || name.empty()) return std::nullopt;
  std::string host = without_trailing_dot(lower(name));
  if (is_ipv4_literal(host) || is_ipv6_literal(host) || is_dns_name(host)) return host;
  return std::nullopt;
}

}  // namespace

std::optional<std::string> audience_host(std::string_view aud) {
  constexpr std::array<std::string_view, 4> kSchemes = {"https://", "http://", "wss://", "ws://"};
  for (std::string_view scheme : kSchemes) {
    if (!starts_with_icase(aud, scheme)) continue;
    std::string_view rest = aud.substr(scheme.size());
    std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
    if (size_t at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
    return bare_host(authority);
  }
  if (aud.find("://") != std::string_view::npos) return std::nullopt;  // api://…, spiffe://…: identifiers
  if (aud.find_first_of("/?#") != std::string_view::npos) return std::nullopt;
  return bare_host(aud);
}

std::string destination_name(std::string_view host) {
  auto [name, port_ok] = split_port(host);
  (void)port_ok;
  return without_trailing_dot(lower(name));
}

AudienceVerdict judge_audience(const std::vector<std::string>& aud, std::string_view host, std::string_view sni,
                               bool host_is_address) {
  std::vector<std::string> names;
  if (!host_is_address && !host.empty()) names.push_back(destination_name(host));
  if (!sni.empty()) names.push_back(destination_name(sni));
  bool opaque = false;
  for (const std::string& value : aud) {
    std::optional<std::string> named = audience_host(value);
    if (!named) {
      opaque = true;
      continue;
    }
    if (std::find(names.begin(), names.end(), *named) != names.end()) return AudienceVerdict::kMatch;
  }
  if (opaque) return AudienceVerdict::kNotComparable;
  if (names.empty()) return AudienceVerdict::kNoDestination;
  return AudienceVerdict::kMismatch;
}

std::optional<std::string> AudienceChecker::check(const std::vector<std::string>& aud, const std::string& fingerprint,
                                                  std::string_view host, std::string_view sni, bool host_is_address) {
  if (aud.empty()) return std::nullopt;
  ++stats_.checked;
  switch (judge_audience(aud, host, sni, host_is_address)) {
    case AudienceVerdict::kMatch: ++stats_.matched; return std::nullopt;
    case AudienceVerdict::kNotComparable: ++stats_.not_comparable; return std::nullopt;
    case AudienceVerdict::kNoDestination: ++stats_.no_destination; return std::nullopt;
    case AudienceVerdict::kMismatch: break;
  }
  std::string destination = destination_name(host_is_address || host.empty() ? sni : host);
  if (!first_report({fingerprint, destination})) {
    ++stats_.repeats;
    return std::nullopt;
  }
  ++stats_.mismatches;
  return destination;
}

bool AudienceChecker::first_report(Pair pair) {
  if (reported_.contains(pair)) return false;
  if (order_.size() >= kMaxRemembered) {
    reported_.erase(order_.front());
    order_.pop_front();
    ++stats_.forgotten;
  }
  reported_.insert(pair);
  order_.push_back(std::move(pair));
  return true;
}

}  // namespace credtrace::sensors
