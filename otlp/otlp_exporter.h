// OTLP/HTTP log export: events queued (bounded; past the bound dropped and counted), sent in batches by one
// background thread as JSON POSTs to an OpenTelemetry endpoint, retried with exponential backoff and full jitter on
// what OTLP calls retryable (network errors, 429, 502, 503, 504), dropped and counted on the rest. Nobody waits on it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "credtrace/v1/events.pb.h"
#include "otlp/otlp_log_records.h"

namespace credtrace::otlp {

struct OtlpOptions {
  std::string endpoint;  // the logs URL (…/v1/logs is appended to a base URL that does not end in it)
  std::vector<std::string> headers;  // "Name: value" lines sent with every request (e.g. an API key); never logged
  std::string ca_file;               // CA bundle for an https endpoint (system CAs when empty)
  OtlpResource resource;
  size_t batch_max_records = 512;
  std::chrono::milliseconds flush_interval{1000};  // a record waits at most this long for its batch to fill
  size_t max_queue_records = 10000;                // waiting to be sent; past it new records are dropped (counted)
  std::chrono::milliseconds timeout{10000};        // one POST, connect to reply
  std::chrono::milliseconds retry_initial{500};
  std::chrono::milliseconds retry_max{30000};
  std::chrono::milliseconds final_send_deadline{3000};  // at shutdown, for what is still queued
};

struct OtlpStats {
  uint64_t records_sent = 0;      // acknowledged by the endpoint (minus what it said it rejected)
  uint64_t batches_sent = 0;
  uint64_t send_failures = 0;     // attempts that will be retried
  uint64_t records_dropped = 0;   // the queue was full, or still held at shutdown
  uint64_t records_rejected = 0;  // refused by the endpoint for good (4xx other than 429, partial success)
  uint64_t queue_records = 0;     // now waiting
};

// The logs URL for a configured endpoint: "" and *error when it is not http(s), or is plain http to a host other
// than loopback (headers, often an API key, and the events would cross the network in clear).
std::string logs_url(const std::string& configured, std::string* error);

// Reads "Name: value" lines (blank lines and # comments skipped); false and *error when a line is not a header.
bool read_headers_file(const std::string& path, std::vector<std::string>& out, std::string* error);

// The agent's and the collector's otlp settings, checked once for both: the endpoint accepted (logs_url), the
// headers file read into options.headers, the CA file readable. nullopt and *error when they cannot work.
std::optional<OtlpOptions> checked_options(OtlpOptions options, const std::string& headers_file, std::string* error);

class OtlpExporter {
 public:
  static std::unique_ptr<OtlpExporter> start(OtlpOptions options, std::string* error);
  ~OtlpExporter();  // shutdown()
  OtlpExporter(const OtlpExporter&) = delete;
  OtlpExporter& operator=(const OtlpExporter&) = delete;

  // Queues one event (a copy); never blocks on I/O.
  void enqueue(const credtrace::v1::Event& event);
  // Queues one protobuf-encoded Event (decoded on the export thread).
  void enqueue_encoded(std::string encoded_event);
  // Sends what is queued, bounded by final_send_deadline; what is left is counted as dropped. Idempotent.
  void shutdown();
  OtlpStats stats() const;

 private:
  explicit OtlpExporter(OtlpOptions options);
  void push(std::string encoded);
  void run();
  // Takes up to a batch of queued records (waits for a full batch or the flush interval); empty when stopping.
  std::vector<std::string> next_batch();
  // POSTs the batch until it is acknowledged, refused for good, or the exporter stops (then dropped, counted).
  void deliver(const std::vector<std::string>& batch);
  enum class Outcome { kSent, kRetry, kRejected };
  Outcome post(const std::string& body, size_t records, std::chrono::milliseconds timeout, std::string* message,
               std::optional<std::chrono::milliseconds>* retry_after);

  OtlpOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::string> queue_;  // protobuf-encoded events
  bool stopping_ = false;
  bool finished_ = false;  // the sender thread is done
  std::atomic<bool> abort_{false};  // the final deadline passed: end the transfer in progress
  std::chrono::steady_clock::time_point final_deadline_{};
  std::atomic<uint64_t> records_sent_{0}, batches_sent_{0}, send_failures_{0}, records_dropped_{0},
      records_rejected_{0};
  void* curl_ = nullptr;  // CURL*, reused: the connection stays open between batches
  std::thread thread_;
};

}  // namespace credtrace::otlp
