// The audience_mismatch rule: whether a JWT's aud claim names the host it was sent to, and one finding per
// (fingerprint, destination host) — never a flood.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace credtrace::sensors {

// The host an aud value names, lower-cased, without port or trailing dot: an http(s) or ws(s) URL's host, or a bare
// host ("api.example.com", "localhost", an IPv4 or bracketed IPv6 literal, optionally with ":port"). nullopt for any
// other value: an opaque API identifier ("my-api", "api://app-id", "urn:…") names no host and cannot be compared.
std::optional<std::string> audience_host(std::string_view aud);

// "Host:port", "[v6]:port" or a bare name → the name, lower-cased, without port or trailing dot.
std::string destination_name(std::string_view host);

enum class AudienceVerdict {
  kMatch,           // an aud value names the destination (its Host/:authority or SNI)
  kMismatch,        // every aud value names a host, and none is the destination's
  kNotComparable,   // some aud value is opaque: it may well be the destination's identifier, so no finding
  kNoDestination,   // the destination has no name (no Host, :authority or SNI; only an address)
};

// `host`: the request's Host/:authority (or SNI when it had none); `sni`: the SNI; `host_is_address`: no name was
// seen, `host` is the connected address.
AudienceVerdict judge_audience(const std::vector<std::string>& aud, std::string_view host, std::string_view sni,
                               bool host_is_address);

struct AudienceStats {
  uint64_t checked = 0;         // JWT uses with an aud claim
  uint64_t matched = 0;
  uint64_t mismatches = 0;      // findings reported
  uint64_t repeats = 0;         // mismatches of a (fingerprint, host) already reported: not reported again
  uint64_t not_comparable = 0;  // an aud value is an opaque identifier
  uint64_t no_destination = 0;  // only an address named the destination
  uint64_t forgotten = 0;       // reported pairs forgotten at kMaxRemembered (they may be reported again)
};

// Judges each JWT use; reports a mismatch once per (fingerprint, destination host) for the agent's lifetime, keeping
// at most kMaxRemembered pairs (the oldest is forgotten first, counted).
class AudienceChecker {
 public:
  static constexpr size_t kMaxRemembered = 65536;

  // The destination host to report, when this use is a mismatch not reported before.
  std::optional<std::string> check(const std::vector<std::string>& aud, const std::string& fingerprint,
                                   std::string_view host, std::string_view sni, bool host_is_address);
  const AudienceStats& stats() const { return stats_; }

 private:
  using Pair = std::pair<std::string, std::string>;  // fingerprint, destination host
  bool first_report(Pair pair);

  std::set<Pair> reported_;
  std::deque<Pair> order_;  // reported_ oldest first
  AudienceStats stats_;
};

}  // namespace credtrace::sensors
