// POST /v1/ingest: decompress (capped), decode IngestBatch, validate, store with dedupe, acknowledge.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "common/fifo_slots.h"
#include "common/metrics.h"
#include "http/http_types.h"
#include "ingest/batch_rows.h"
#include "ingest/event_limits.h"
#include "otlp/otlp_exporter.h"
#include "store/store.h"

namespace credtrace::collector {

struct IngestOptions {
  size_t max_decompressed_bytes = 64 << 20;
  BatchLimits batch;
  EventLimits events;
  // Batches inflated and decoded at once (each connection has its own thread): bounds the memory decoding takes.
  // Waiting for the store holds no slot, so every batch waiting for a commit can join the same group.
  unsigned decode_slots = 4;
};

// Memory one decode slot keeps between batches: the inflated body's buffer and the first block of the decoding arena
// (no page faults or heap trims per batch).
struct DecodeScratch {
  std::string raw;
  std::unique_ptr<char[]> arena_block;
};

class IngestService {
 public:
  IngestService(Store& store, Metrics& metrics, IngestOptions options)
      : store_(store), metrics_(metrics), options_(options), decode_slots_(options.decode_slots),
        scratch_(decode_slots_.count()) {}
  // The agent token was checked before the body was read.
  HttpReply handle(const HttpRequest& request);
  // Every event of an accepted batch (not of a duplicate) is also queued for OTLP export (nullptr: none).
  void export_to(otlp::OtlpExporter* exporter) { otlp_ = exporter; }

 private:
  HttpReply reject(RejectReason reason, int status, const std::string& message);
  // Fills `out` with the protobuf bytes of the body, or returns the rejection.
  std::optional<HttpReply> decode_body(const HttpRequest& request, std::string& out);
  // Parses the IngestBatch in `scratch.raw` and builds its rows, or returns the rejection.
  std::optional<HttpReply> decode_batch(DecodeScratch& scratch, BatchRows& rows);
  // Inflates and decodes the body into `rows` while holding a decode slot, or returns the rejection.
  std::optional<HttpReply> decode(const HttpRequest& request, BatchRows& rows);

  Store& store_;
  Metrics& metrics_;
  IngestOptions options_;
  FifoSlots decode_slots_;
  std::vector<DecodeScratch> scratch_;  // one per decode slot, used by its holder only
  otlp::OtlpExporter* otlp_ = nullptr;
};

}  // namespace credtrace::collector
