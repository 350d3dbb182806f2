// HTTP(S) client of the collector's POST /v1/ingest (libcurl): bearer token and/or mTLS, custom CA, and the
// classification of each reply into acknowledged, retry later, or rejected for good.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace credtrace::exporter {

struct CollectorEndpoint {
  std::string url;         // base URL (…/v1/ingest is appended) or the full ingest URL
  std::string token;       // bearer token, "" for mTLS only; never logged
  std::string ca_file, cert_file, key_file;
  std::chrono::milliseconds connect_timeout{5000};
};

enum class SendOutcome {
  kAcked,     // stored (or already stored: duplicate); delete the batch
  kRetry,     // network error, 5xx, 408, 429, 401/403 (credentials may be fixed), bad ack: keep it
  kRejected,  // any other 4xx: the collector will never take this batch
};

struct SendResult {
  SendOutcome outcome = SendOutcome::kRetry;
  long http_status = 0;   // 0 when no reply arrived
  bool duplicate = false;
  std::string message;    // for logs: status and error text, never the body we sent
};

// How a reply status is handled (2xx is only an ack once the IngestAck matches).
SendOutcome classify_status(long http_status);

// The ingest URL for a configured collector URL; "" and *error when it is not http(s), or is plain http to a host
// other than loopback (the bearer token would cross the network in clear).
std::string ingest_url(const std::string& configured, std::string* error);

class CollectorClient {
 public:
  // Validates the URL; the token, CA and client certificate files are read by libcurl per connection.
  static std::unique_ptr<CollectorClient> create(CollectorEndpoint endpoint, std::string* error);
  ~CollectorClient();
  CollectorClient(const CollectorClient&) = delete;
  CollectorClient& operator=(const CollectorClient&) = delete;

  // POSTs one compressed batch and checks the IngestAck names (agent_id, sequence). `timeout` bounds the whole
  // exchange; a true `abort` (checked while the transfer runs) ends it early as a retry.
  SendResult send(const std::string& agent_id, uint64_t sequence, const std::string& body,
                  std::chrono::milliseconds timeout, const std::atomic<bool>* abort = nullptr);

 private:
  explicit CollectorClient(CollectorEndpoint endpoint);
  CollectorEndpoint endpoint_;
  void* curl_ = nullptr;  // CURL*, reused so the connection stays open between batches
};

}  // namespace credtrace::exporter
