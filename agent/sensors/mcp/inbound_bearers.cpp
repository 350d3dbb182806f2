// The registry of bearer tokens HTTP MCP servers received (fingerprints), bounded, oldest evicted first.
#include "sensors/mcp/inbound_bearers.h"

#include <chrono>

#include "events/credential_facts.h"
#include "protocols/credentials.h"

namespace credtrace::sensors {

void InboundBearers::record(uint32_t server_pid, const std::string& fingerprint, InboundBearer where) {
  Key key{server_pid, fingerprint};
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    by_age_.erase(it->second.order);
  } else if (entries_.size() >= kMaxEntries && !by_age_.empty()) {
    entries_.erase(by_age_.begin()->second);
    by_age_.erase(by_age_.begin());
    ++evicted_;
  }
  Entry& entry = entries_[key];
  entry.where = std::move(where);
  entry.order = next_++;
  by_age_[entry.order] = key;
}

std::optional<InboundBearer> InboundBearers::inbound_bearer(uint32_t server_pid, const std::string& fingerprint) const {
  auto it = entries_.find({server_pid, fingerprint});
  if (it == entries_.end()) return std::nullopt;
  return it->second.where;
}

void InboundBearers::forget_server(uint32_t server_pid) {
  for (auto it = entries_.lower_bound({server_pid, ""}); it != entries_.end() && it->first.first == server_pid;) {
    by_age_.erase(it->second.order);
    it = entries_.erase(it);
  }
}

void note_inbound_bearers(InboundBearers& bearers, const secrets::Fingerprinter& fingerprinter, uint32_t server_pid,
                          const protocols::HttpRequest& request, uint32_t port, const std::string& peer_ip) {
  std::vector<protocols::CarriedCredential> found = protocols::credentials_in_request(request, {});
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  for (auto& credential : found) {
    if (credential.carrier != "header:authorization" || credential.scheme != "Bearer") continue;
    const auto described =
        events::describe_credential(fingerprinter, credential.value, credential.type, credential.prefix_len);
    bearers.record(server_pid, described.fingerprint(),
                   InboundBearer{credential.carrier, port, request.path, peer_ip, now});
  }
  protocols::cleanse(found);
}

}  // namespace credtrace::sensors
