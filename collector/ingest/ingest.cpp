// POST /v1/ingest: decompress (capped), decode IngestBatch, validate, store with dedupe, acknowledge.
#include "ingest/ingest.h"

#include <google/protobuf/arena.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <chrono>
#include <string_view>
#include <vector>

#include "common/time_util.h"
#include "ingest/batch_wire.h"
#include "ingest/inflate.h"
#include "logging/log.h"

namespace credtrace::collector {
namespace {

std::string lower_trimmed(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  while (!text.empty() && text.back() == ' ') text.pop_back();
  while (!text.empty() && text.front() == ' ') text.erase(text.begin());
  return text;
}

// The first arena block a decode slot keeps: a batch of several hundred events decodes within it; larger ones get
// blocks sized for them, freed with the arena.
constexpr size_t kArenaBlockBytes = 1 << 20;
// A slot keeps an inflated body's buffer up to this capacity between batches (a rare larger one is freed).
constexpr size_t kKeptRawBytes = 4 << 20;

google::protobuf::ArenaOptions arena_options(DecodeScratch& scratch) {
  if (!scratch.arena_block) scratch.arena_block = std::make_unique<char[]>(kArenaBlockBytes);
  google::protobuf::ArenaOptions options;
  options.initial_block = scratch.arena_block.get();
  options.initial_block_size = kArenaBlockBytes;
  options.start_block_size = 256 << 10;
  options.max_block_size = 4 << 20;
  return options;
}

int status_for(InflateError error) { return error == InflateError::kTooLarge ? 413 : 400; }

RejectReason reason_for(InflateError error) {
  return error == InflateError::kTooLarge ? RejectReason::kDecompressedTooLarge : RejectReason::kBadCompression;
}

HttpReply ack_reply(const v1::IngestAck& ack, bool json) {
  HttpReply reply;
  if (json) {
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    options.always_print_primitive_fields = true;
    (void)google::protobuf::util::MessageToJsonString(ack, &reply.body, options);
    return reply;
  }
  reply.content_type = "application/x-protobuf";
  ack.SerializeToString(&reply.body);
  return reply;
}

}  // namespace

HttpReply IngestService::reject(RejectReason reason, int status, const std::string& message) {
  metrics_.rejected(reason);
  log::warn(std::string("ingest rejected (") + reject_reason_name(reason) + "): " + message);
  return error_reply(status, message);
}

std::optional<HttpReply> IngestService::decode_body(const HttpRequest& request, std::string& out) {
  std::string encoding = lower_trimmed(request.header("content-encoding"));
  if (encoding.empty() || encoding == "identity") {
    if (request.body.size() > options_.max_decompressed_bytes)
      return reject(RejectReason::kDecompressedTooLarge, 413, "body exceeds --max-decompressed-bytes");
    out = request.body;
    return std::nullopt;
  }
  Compression compression;
  if (encoding == "deflate") compression = Compression::kDeflate;
  else if (encoding == "gzip" || encoding == "x-gzip") compression = Compression::kGzip;
  else return reject(RejectReason::kUnsupportedEncoding, 415, "Content-Encoding '" + encoding +
                                                                  "' not supported (use deflate or gzip)");
  InflateResult result = inflate_bounded(request.body, compression, options_.max_decompressed_bytes, out);
  if (!result.ok()) return reject(reason_for(result.error), status_for(result.error), result.message);
  return std::nullopt;
}

std::optional<HttpReply> IngestService::decode_batch(DecodeScratch& scratch, BatchRows& rows) {
  const std::string& raw = scratch.raw;
  google::protobuf::Arena arena(arena_options(scratch));  // the decoded messages go at once, not one by one
  auto& batch = *google::protobuf::Arena::CreateMessage<v1::IngestBatch>(&arena);
  if (raw.empty() || !batch.ParseFromString(raw))
    return reject(RejectReason::kBadProtobuf, 400, "body is not a protobuf credtrace.v1.IngestBatch");
  std::vector<std::string_view> wire_events;  // each event as sent: stored without re-encoding
  bool have_wire = batch_event_slices(raw, wire_events);
  const int64_t received_ns = now_ns();
  BoundedBatch bounded;
  if (Status s = bound_batch(batch, options_.events, received_ns, bounded); !s.ok())
    return reject(RejectReason::kInvalidBatch, 400, "invalid batch: " + s.message());
  if (bounded.changed > 0) have_wire = false;  // those events are stored re-encoded, not as received
  metrics_.events_truncated(bounded.truncated);
  if (Status s = build_batch_rows(batch, received_ns, options_.batch, rows, have_wire ? &wire_events : nullptr); !s.ok())
    return reject(RejectReason::kInvalidBatch, 400, "invalid batch: " + s.message());
  return std::nullopt;
}

std::optional<HttpReply> IngestService::decode(const HttpRequest& request, BatchRows& rows) {
  FifoSlots::Lease slot(decode_slots_);
  DecodeScratch& scratch = scratch_[slot.slot()];
  std::optional<HttpReply> rejected = decode_body(request, scratch.raw);
  if (!rejected) rejected = decode_batch(scratch, rows);
  if (scratch.raw.capacity() > kKeptRawBytes) std::string().swap(scratch.raw);
  return rejected;
}

HttpReply IngestService::handle(const HttpRequest& request) {
  auto started = std::chrono::steady_clock::now();
  BatchRows rows;
  if (auto rejected = decode(request, rows)) return *rejected;
  IngestOutcome outcome;
  if (Status s = store_.ingest(rows, outcome); !s.ok())
    return reject(RejectReason::kStoreError, 503, "storage failed, retry later: " + s.message());
  if (outcome.duplicate) metrics_.batch_duplicate();
  else metrics_.batch_accepted(outcome.accepted);
  if (!outcome.duplicate) {
    metrics_.tool_calls(rows.mcp.calls.size(), outcome.tool_calls, rows.mcp.calls_without_id,
                        rows.mcp.unknown_outcomes);
    for (auto& health : rows.health) metrics_.agent_health().update(std::move(health));
    if (otlp_)
      for (auto& event : rows.events) otlp_->enqueue_encoded(std::move(event.payload));  // stored: not needed here now
  }
  metrics_.ingest_seconds(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  v1::IngestAck ack;
  ack.set_agent_id(rows.agent_id);
  ack.set_sequence(rows.sequence);
  ack.set_accepted(static_cast<uint32_t>(outcome.accepted));
  ack.set_duplicate(outcome.duplicate);
  return ack_reply(ack, request.header("accept").find("application/json") != std::string::npos);
}

}  // namespace credtrace::collector
