// Bearer tokens the HTTP MCP servers on this host received from their clients, by fingerprint only: what a later
// credential use by the same server is checked against (token passthrough).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "protocols/http1/request_parser.h"
#include "secrets/fingerprint.h"

namespace credtrace::sensors {

// Where a server received a token.
struct InboundBearer {
  std::string carrier;  // header:authorization
  uint32_t port = 0;    // the local port it accepted the request on
  std::string path;     // the request's path (query values removed)
  std::string from_ip;  // the client's address
  int64_t unix_ns = 0;  // when (wall clock)
};

class InboundBearers {
 public:
  static constexpr size_t kMaxEntries = 4096;  // the oldest entry goes at the bound (counted)

  void record(uint32_t server_pid, const std::string& fingerprint, InboundBearer where);
  // The last place the server received the token with this fingerprint, if it did.
  std::optional<InboundBearer> inbound_bearer(uint32_t server_pid, const std::string& fingerprint) const;
  void forget_server(uint32_t server_pid);
  size_t size() const { return entries_.size(); }
  uint64_t evicted() const { return evicted_; }

 private:
  using Key = std::pair<uint32_t, std::string>;
  struct Entry {
    InboundBearer where;
    uint64_t order = 0;
  };
  std::map<Key, Entry> entries_;
  std::map<uint64_t, Key> by_age_;
  uint64_t next_ = 0;
  uint64_t evicted_ = 0;
};

// Records the bearer tokens (Authorization: Bearer) of a request a server received, fingerprinted; raw values wiped.
void note_inbound_bearers(InboundBearers& bearers, const secrets::Fingerprinter& fingerprinter, uint32_t server_pid,
                          const protocols::HttpRequest& request, uint32_t port, const std::string& peer_ip);

}  // namespace credtrace::sensors
