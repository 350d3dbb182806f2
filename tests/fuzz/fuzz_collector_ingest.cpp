// Fuzz target: the collector's ingest decoding — bounded inflate (zlib, raw deflate, gzip), IngestBatch parsing and
// batch validation into rows — on arbitrary request bodies; also the uncompressed protobuf path.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ingest/batch_rows.h"
#include "credtrace/v1/ingest.pb.h"
#include "ingest/inflate.h"

namespace {

void decode_batch(std::string_view body) {
  credtrace::v1::IngestBatch batch;
  if (!batch.ParseFromArray(body.data(), static_cast<int>(body.size()))) return;
  credtrace::collector::BatchRows rows;
  credtrace::collector::BatchLimits limits;
  limits.max_events = 1000;
  (void)credtrace::collector::build_batch_rows(batch, 1, limits, rows);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte picks the body's encoding; the rest is the body, as a client would send it.
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  const uint8_t mode = data[0] % 3;
  if (mode == 2) {
    decode_batch(body);
    return 0;
  }
  std::string inflated;
  const auto compression = mode == 0 ? credtrace::collector::Compression::kDeflate
                                     : credtrace::collector::Compression::kGzip;
  auto result = credtrace::collector::inflate_bounded(body, compression, 1 << 20, inflated);
  if (result.ok()) decode_batch(inflated);
  if (inflated.size() > (1u << 20) + 1) __builtin_trap();  // the cap must hold
  return 0;
}
