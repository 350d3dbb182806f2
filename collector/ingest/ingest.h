// POST /v1/ingest: decompress (capped), decode IngestBatch, validate, store with dedupe, acknowledge.
#pragma once

#include <cstddef>

#include "common/metrics.h"
#include "http/http_types.h"
#include "ingest/batch_rows.h"
#include "ingest/event_limits.h"
#include "store/store.h"

namespace credtrace::collector {

struct IngestOptions {
  size_t max_decompressed_bytes = 64 << 20;
  BatchLimits batch;
  EventLimits events;
};

class IngestService {
 public:
  IngestService(Store& store, Metrics& metrics, IngestOptions options)
      : store_(store), metrics_(metrics), options_(options) {}
  // The agent token was checked before the body was read.
  HttpReply handle(const HttpRequest& request);

 private:
  HttpReply reject(RejectReason reason, int status, const std::string& message);
  // Fills `out` with the protobuf bytes of the body, or returns the rejection.
  std::optional<HttpReply> decode_body(const HttpRequest& request, std::string& out);
  // Parses the IngestBatch in `raw` and builds its rows, or returns the rejection.
  std::optional<HttpReply> decode_batch(const std::string& raw, BatchRows& rows);

  Store& store_;
  Metrics& metrics_;
  IngestOptions options_;
};

}  // namespace credtrace::collector
