// Collector counters (ingest, rejects, duplicates, tool calls, queries, store errors), agents' last health: Prometheus.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "common/agent_health_table.h"

namespace credtrace::collector {

enum class RejectReason {
  kUnauthorized,          // missing or wrong agent token (401)
  kBodyTooLarge,          // compressed body over --max-body-bytes (413)
  kDecompressedTooLarge,  // inflated body over --max-decompressed-bytes (413)
  kUnsupportedEncoding,   // Content-Encoding other than deflate, gzip, identity (415)
  kBadCompression,        // corrupt, truncated or trailing compressed data (400)
  kBadProtobuf,           // not an IngestBatch (400)
  kInvalidBatch,          // parsed, but breaks a rule (no agent_id, bad fingerprint, ...) (400)
  kStoreError,            // the database failed (503)
  kCount
};

const char* reject_reason_name(RejectReason reason);

class Metrics {
 public:
  void batch_accepted(uint64_t events) {
    batches_.fetch_add(1, std::memory_order_relaxed);
    events_.fetch_add(events, std::memory_order_relaxed);
  }
  void events_truncated(uint64_t events) { truncated_.fetch_add(events, std::memory_order_relaxed); }
  void batch_duplicate() { duplicates_.fetch_add(1, std::memory_order_relaxed); }
  void rejected(RejectReason reason) { rejects_[static_cast<size_t>(reason)].fetch_add(1, std::memory_order_relaxed); }
  void query(bool ok) { (ok ? queries_ : query_errors_).fetch_add(1, std::memory_order_relaxed); }
  void reader_unauthorized() { reader_unauthorized_.fetch_add(1, std::memory_order_relaxed); }
  void ingest_seconds(double seconds);
  void retention_deleted(uint64_t events) { retention_deleted_.fetch_add(events, std::memory_order_relaxed); }
  // MCP tool calls of an accepted batch: `reported` in it, `stored` new, `without_id` and `unknown_outcome` among them.
  void tool_calls(uint64_t reported, uint64_t stored, uint64_t without_id, uint64_t unknown_outcome);

  // The last agent_health of each agent (fed by ingest from stored, non-duplicate batches).
  AgentHealthTable& agent_health() { return agent_health_; }

  std::string prometheus_text() const;
  // More lines for prometheus_text() from another part (the HTTP server's connection counters).
  void set_extra_text(std::function<std::string()> source);

 private:
  std::atomic<uint64_t> batches_{0}, events_{0}, duplicates_{0}, truncated_{0};
  std::array<std::atomic<uint64_t>, static_cast<size_t>(RejectReason::kCount)> rejects_{};
  std::atomic<uint64_t> queries_{0}, query_errors_{0}, reader_unauthorized_{0};
  std::atomic<uint64_t> ingest_micros_{0}, ingest_count_{0};
  std::atomic<uint64_t> retention_deleted_{0};
  std::atomic<uint64_t> tool_calls_{0}, tool_calls_repeated_{0}, tool_calls_without_id_{0}, tool_calls_unknown_{0};
  AgentHealthTable agent_health_;
  mutable std::mutex extra_mutex_;
  std::function<std::string()> extra_text_;
};

}  // namespace credtrace::collector
