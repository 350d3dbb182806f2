// The registry of credential sources: deduplicated, bounded per credential, dropped with their server.
#include "events/credential_registry.h"

#include <algorithm>
#include <set>

namespace credtrace::events {

// Sources are compared serialized: one binary serializes equal sources to equal bytes.
bool CredentialRegistry::add(Sources& sources, const std::string& fingerprint, const credtrace::v1::Source& source) {
  auto& known = sources[secrets::KeptFingerprint(fingerprint)];
  std::string serialized = source.SerializeAsString();
  if (std::find(known.begin(), known.end(), serialized) != known.end()) return false;
  if (known.size() >= kMaxSourcesPerCredential) known.erase(known.begin());
  known.push_back(std::move(serialized));
  return true;
}

void CredentialRegistry::append(const std::vector<std::string>& serialized, credtrace::v1::Event& event) {
  for (const std::string& bytes : serialized) {
    if (!event.add_sources()->ParseFromString(bytes)) event.mutable_sources()->RemoveLast();  // never: written here
  }
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
  const secrets::KeptFingerprint key(fingerprint);
  if (auto server = by_server_.find(server_pid); server != by_server_.end()) {
    if (auto it = server->second.find(key); it != server->second.end()) append(it->second, event);
  }
  if (auto it = host_wide_.find(key); it != host_wide_.end()) append(it->second, event);
}

void CredentialRegistry::add_any_sources_to(const std::string& fingerprint, credtrace::v1::Event& event) const {
  const secrets::KeptFingerprint key(fingerprint);
  std::set<std::string> seen;  // the same source seen by several servers is listed once
  std::vector<std::string> listed;
  auto add = [&](const std::vector<std::string>& sources) {
    for (const std::string& source : sources)
      if (seen.insert(source).second) listed.push_back(source);
  };
  for (const auto& [_, sources] : by_server_)
    if (auto it = sources.find(key); it != sources.end()) add(it->second);
  if (auto it = host_wide_.find(key); it != host_wide_.end()) add(it->second);
  append(listed, event);
}

}  // namespace credtrace::events
