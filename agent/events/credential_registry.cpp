// The registry of credential sources: deduplicated, bounded per credential, dropped with their server.
#include "events/credential_registry.h"

#include <set>

#include <algorithm>

namespace credtrace::events {

namespace {

bool same_source(const credtrace::v1::Source& a, const credtrace::v1::Source& b) {
  return a.kind() == b.kind() && a.name() == b.name() && a.path() == b.path() && a.key() == b.key();
}

}  // namespace

bool CredentialRegistry::add(Sources& sources, const std::string& fingerprint, const credtrace::v1::Source& source) {
  auto& known = sources[fingerprint];
  if (std::any_of(known.begin(), known.end(), [&](const auto& s) { return same_source(s, source); })) return false;
  if (known.size() >= kMaxSourcesPerCredential) known.erase(known.begin());
  known.push_back(source);
  return true;
}

bool CredentialRegistry::add_workload_source(uint32_t server_pid, const std::string& fingerprint,
                                             const credtrace::v1::Source& source) {
  return add(by_server_[server_pid], fingerprint, source);
}

bool CredentialRegistry::add_host_source(const std::string& fingerprint, const credtrace::v1::Source& source) {
  return add(host_wide_, fingerprint, source);
}

void CredentialRegistry::add_sources_to(uint32_t server_pid, const std::string& fingerprint,
                                        credtrace::v1::Event& event) const {
  if (auto server = by_server_.find(server_pid); server != by_server_.end()) {
    if (auto it = server->second.find(fingerprint); it != server->second.end())
      for (const auto& source : it->second) *event.add_sources() = source;
  }
  if (auto it = host_wide_.find(fingerprint); it != host_wide_.end())
    for (const auto& source : it->second) *event.add_sources() = source;
}

void CredentialRegistry::add_any_sources_to(const std::string& fingerprint, credtrace::v1::Event& event) const {
  std::set<std::string> seen;  // the same source seen by several servers is listed once
  auto add = [&](const credtrace::v1::Source& source) {
    if (seen.insert(source.SerializeAsString()).second) *event.add_sources() = source;
  };
  for (const auto& [_, sources] : by_server_)
    if (auto it = sources.find(fingerprint); it != sources.end())
      for (const auto& source : it->second) add(source);
  if (auto it = host_wide_.find(fingerprint); it != host_wide_.end())
    for (const auto& source : it->second) add(source);
}

}  // namespace credtrace::events
