// Collector counters (ingest, rejects, duplicates, tool calls, queries, store errors), agents' last health: Prometheus.
#include "common/metrics.h"

namespace credtrace::collector {
namespace {

void counter(std::string& out, const char* name, const char* help, uint64_t value) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n";
  out += std::string(name) + " " + std::to_string(value) + "\n";
}

uint64_t load(const std::atomic<uint64_t>& value) { return value.load(std::memory_order_relaxed); }

}  // namespace

const char* reject_reason_name(RejectReason reason) {
  switch (reason) {
    case RejectReason::kUnauthorized: return "unauthorized";
    case RejectReason::kBodyTooLarge: return "body_too_large";
    case RejectReason::kDecompressedTooLarge: return "decompressed_too_large";
    case RejectReason::kUnsupportedEncoding: return "unsupported_encoding";
    case RejectReason::kBadCompression: return "bad_compression";
    case RejectReason::kBadProtobuf: return "bad_protobuf";
    case RejectReason::kInvalidBatch: return "invalid_batch";
    case RejectReason::kStoreError: return "store_error";
    case RejectReason::kCount: break;
  }
  return "unknown";
}

void Metrics::ingest_seconds(double seconds) {
  ingest_micros_.fetch_add(static_cast<uint64_t>(seconds * 1e6), std::memory_order_relaxed);
  ingest_count_.fetch_add(1, std::memory_order_relaxed);
}

void Metrics::tool_calls(uint64_t reported, uint64_t stored, uint64_t without_id, uint64_t unknown_outcome) {
  tool_calls_.fetch_add(stored, std::memory_order_relaxed);
  tool_calls_repeated_.fetch_add(reported > stored ? reported - stored : 0, std::memory_order_relaxed);
  tool_calls_without_id_.fetch_add(without_id, std::memory_order_relaxed);
  tool_calls_unknown_.fetch_add(unknown_outcome, std::memory_order_relaxed);
}

std::string Metrics::prometheus_text() const {
  std::string out;
  counter(out, "credtrace_collector_ingest_batches_total", "Batches stored.", load(batches_));
  counter(out, "credtrace_collector_ingest_events_total", "Events stored.", load(events_));
  counter(out, "credtrace_collector_ingest_duplicates_total", "Replayed batches acknowledged without storing.",
          load(duplicates_));
  counter(out, "credtrace_collector_ingest_events_truncated_total",
          "Events stored with fields cut to limits.max_string_bytes / max_repeated_entries (named in truncated_fields).",
          load(truncated_));
  out += "# HELP credtrace_collector_ingest_rejects_total Ingest requests refused, by reason.\n"
         "# TYPE credtrace_collector_ingest_rejects_total counter\n";
  for (size_t i = 0; i < rejects_.size(); ++i)
    out += std::string("credtrace_collector_ingest_rejects_total{reason=\"") +
           reject_reason_name(static_cast<RejectReason>(i)) + "\"} " + std::to_string(load(rejects_[i])) + "\n";
  out += "# HELP credtrace_collector_ingest_seconds Time to decode and store accepted batches.\n"
         "# TYPE credtrace_collector_ingest_seconds summary\n";
  out += "credtrace_collector_ingest_seconds_sum " + std::to_string(static_cast<double>(load(ingest_micros_)) / 1e6) + "\n";
  out += "credtrace_collector_ingest_seconds_count " + std::to_string(load(ingest_count_)) + "\n";
  counter(out, "credtrace_collector_tool_calls_total", "MCP tool calls stored.", load(tool_calls_));
  counter(out, "credtrace_collector_tool_calls_repeated_total",
          "MCP tool calls whose call id was already stored (the first report is kept; the event is stored).",
          load(tool_calls_repeated_));
  counter(out, "credtrace_collector_tool_calls_without_id_total",
          "MCP tool calls without a call_id, stored under event-<event id>.", load(tool_calls_without_id_));
  counter(out, "credtrace_collector_tool_calls_unknown_outcome_total",
          "MCP tool calls with an outcome this collector does not know, stored as unknown.", load(tool_calls_unknown_));
  counter(out, "credtrace_collector_queries_total", "Query API requests answered.", load(queries_));
  counter(out, "credtrace_collector_query_errors_total", "Query API requests that failed in the store.",
          load(query_errors_));
  counter(out, "credtrace_collector_reader_unauthorized_total", "Query API requests without a valid reader token.",
          load(reader_unauthorized_));
  counter(out, "credtrace_collector_retention_deleted_events_total", "Events deleted by --retention-days.",
          load(retention_deleted_));
  out += agent_health_.prometheus_text();
  std::lock_guard lock(extra_mutex_);
  if (extra_text_) out += extra_text_();
  return out;
}

void Metrics::set_extra_text(std::function<std::string()> source) {
  std::lock_guard lock(extra_mutex_);
  extra_text_ = std::move(source);
}

}  // namespace credtrace::collector
