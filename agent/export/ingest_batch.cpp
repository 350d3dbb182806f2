// Batching for the collector sink: count/size/age limits, protobuf serialization and zlib compression.
#include "export/ingest_batch.h"
#include "common/timestamp.h"

#include <zlib.h>

#include <ctime>

namespace credtrace::exporter {
namespace {

// Serialized size of an event as a repeated field entry (tag + length varint + bytes), close enough for limits.
size_t entry_bytes(const credtrace::v1::Event& event) { return event.ByteSizeLong() + 6; }

}  // namespace

void EventBatcher::add(credtrace::v1::Event event, Clock::time_point now) {
  size_t size = entry_bytes(event);
  bytes_ += size;
  pending_.push_back({std::move(event), size, now});
}

bool EventBatcher::ready(Clock::time_point now) const {
  if (pending_.empty()) return false;
  return pending_.size() >= limits_.max_events || bytes_ >= limits_.max_bytes || now >= *deadline();
}

std::optional<EventBatcher::Clock::time_point> EventBatcher::deadline() const {
  if (pending_.empty()) return std::nullopt;
  return pending_.front().added + limits_.max_age;
}

std::vector<credtrace::v1::Event> EventBatcher::take() {
  std::vector<credtrace::v1::Event> out;
  size_t taken_bytes = 0;
  while (!pending_.empty() && out.size() < limits_.max_events) {
    Pending& next = pending_.front();
    if (!out.empty() && taken_bytes + next.bytes > limits_.max_bytes) break;
    taken_bytes += next.bytes;
    bytes_ -= next.bytes;
    out.push_back(std::move(next.event));
    pending_.pop_front();
  }
  return out;
}

std::string encode_batch(const std::string& agent_id, uint64_t sequence, std::vector<credtrace::v1::Event> events) {
  credtrace::v1::IngestBatch batch;
  batch.set_agent_id(agent_id);
  batch.set_sequence(sequence);
  *batch.mutable_sent_at() = common::now_timestamp();
  batch.mutable_events()->Reserve(static_cast<int>(events.size()));
  for (auto& event : events) *batch.add_events() = std::move(event);
  std::string raw;
  batch.SerializeToString(&raw);
  uLongf size = compressBound(static_cast<uLong>(raw.size()));
  std::string out(size, '\0');
  if (compress2(reinterpret_cast<Bytef*>(out.data()), &size, reinterpret_cast<const Bytef*>(raw.data()),
                static_cast<uLong>(raw.size()), Z_DEFAULT_COMPRESSION) != Z_OK)
    return {};
  out.resize(size);
  return out;
}

bool decode_batch(const std::string& body, credtrace::v1::IngestBatch& out) {
  z_stream stream{};
  if (inflateInit(&stream) != Z_OK) return false;
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data()));
  stream.avail_in = static_cast<uInt>(body.size());
  std::string raw;
  char buf[65536];
  int rc = Z_OK;
  while (rc == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(buf);
    stream.avail_out = sizeof(buf);
    rc = inflate(&stream, Z_NO_FLUSH);
    raw.append(buf, sizeof(buf) - stream.avail_out);
  }
  inflateEnd(&stream);
  return rc == Z_STREAM_END && out.ParseFromString(raw);
}

}  // namespace credtrace::exporter
