// URL host helpers shared by the agent's collector client and the CLI's query client: the host of a URL and the
// "plain http only to loopback" rule.
#pragma once

#include <string>
#include <string_view>

namespace credtrace::common {

// The host of "scheme://[userinfo@]host[:port][/path][?query][#fragment]" as written: brackets kept for IPv6
// literals ("[::1]"), case kept, userinfo and port removed; "" when there is none. Without "://" the whole text
// is taken as the authority.
std::string host_of(std::string_view url);

// True only for hosts that always mean this machine, case-insensitively: IPv4 127.0.0.0/8 (dotted quad), the IPv6
// loopback ::1 and IPv4-mapped 127/8, bare or in brackets, "localhost" and "*.localhost" (libcurl resolves those
// to loopback itself, never through DNS). Anything else, including other spellings of loopback addresses, is not.
bool is_loopback_host(std::string_view host);

}  // namespace credtrace::common
