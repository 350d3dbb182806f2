// URL host extraction and the loopback-host rule (plain http is allowed only to these hosts).
#include "common/url.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>

namespace credtrace::common {
namespace {

constexpr std::string_view kLocalhost = "localhost";

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

bool is_loopback_ipv6(const std::string& literal) {
  in6_addr v6{};
  if (inet_pton(AF_INET6, literal.c_str(), &v6) != 1) return false;
  return IN6_IS_ADDR_LOOPBACK(&v6) || (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
}

}  // namespace

std::string host_of(std::string_view url) {
  size_t start = url.find("://");
  start = start == std::string_view::npos ? 0 : start + 3;
  size_t end = url.find_first_of("/?#", start);
  std::string_view authority = url.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  if (!authority.empty() && authority[0] == '[') return std::string(authority.substr(0, authority.find(']') + 1));
  return std::string(authority.substr(0, authority.find(':')));
}

bool is_loopback_host(std::string_view host) {
  const std::string name = lower(host);
  in_addr v4{};
  if (inet_pton(AF_INET, name.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  if (name.size() > 2 && name.front() == '[' && name.back() == ']')
    return is_loopback_ipv6(name.substr(1, name.size() - 2));
  if (is_loopback_ipv6(name)) return true;
  if (name == kLocalhost) return true;
  // "*.localhost" (RFC 6761): a non-empty label before ".localhost".
  return name.size() > kLocalhost.size() + 1 && name.ends_with(kLocalhost) &&
         name[name.size() - kLocalhost.size() - 1] == '.' && name[0] != '.';
}

}  // namespace credtrace::common
