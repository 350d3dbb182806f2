// Where each credential was seen: per server instance (its environment, files it read, token responses) and
// host-wide (MCP client configs). Every credential_use lists these as its sources.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "credtrace/v1/events.pb.h"
#include "secrets/fingerprint.h"

namespace credtrace::events {

class CredentialRegistry {
 public:
  // At most this many sources are kept per credential and scope; the oldest goes first.
  static constexpr size_t kMaxSourcesPerCredential = 16;

  // Records that the server instance's workload saw the credential at `source`; false when already known.
  bool add_workload_source(uint32_t server_pid, const std::string& fingerprint, const credtrace::v1::Source& source);
  // Records a host-wide source (an MCP client config holding the credential); false when already known.
  bool add_host_source(const std::string& fingerprint, const credtrace::v1::Source& source);
  // Appends the server's sources of the credential, then the host-wide ones, to event.sources.
  void add_sources_to(uint32_t server_pid, const std::string& fingerprint, credtrace::v1::Event& event) const;
  // Appends every source of the credential the agent knows, whichever server saw it, then the host-wide ones.
  void add_any_sources_to(const std::string& fingerprint, credtrace::v1::Event& event) const;
  // The server instance is gone and nothing refers to it any more.
  void forget_server(uint32_t server_pid) { by_server_.erase(server_pid); }

 private:
  // Kept for every watched server's env secrets, so compactly: a fingerprint as KeptFingerprint, a source as its
  // serialized bytes (one string, where a Source holds a heap string per field).
  using Sources = std::map<secrets::KeptFingerprint, std::vector<std::string>>;  // fingerprint → serialized sources
  static bool add(Sources& sources, const std::string& fingerprint, const credtrace::v1::Source& source);
  static void append(const std::vector<std::string>& serialized, credtrace::v1::Event& event);
  std::map<uint32_t, Sources> by_server_;
  Sources host_wide_;
};

}  // namespace credtrace::events
