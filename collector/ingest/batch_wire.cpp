// Top-level wire scan of an encoded IngestBatch: the bytes of each event as sent, so they are stored without re-encoding.
#include "ingest/batch_wire.h"

#include <cstdint>

namespace credtrace::collector {
namespace {

constexpr uint64_t kEventsField = 3;  // IngestBatch.events

// Base-128 varint at `at` (advanced past it); false when truncated or longer than 10 bytes.
bool read_varint(std::string_view wire, size_t& at, uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 70 && at < wire.size(); shift += 7) {
    auto byte = static_cast<uint8_t>(wire[at++]);
    value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

bool skip(std::string_view wire, size_t& at, uint64_t bytes) {
  if (bytes > wire.size() - at) return false;
  at += bytes;
  return true;
}

// Skips one field's value of `wire_type`; a length-delimited one is returned in `bytes`.
bool skip_value(std::string_view wire, size_t& at, uint64_t wire_type, std::string_view& bytes) {
  uint64_t value = 0;
  switch (wire_type) {
    case 0: return read_varint(wire, at, value);
    case 1: return skip(wire, at, 8);
    case 5: return skip(wire, at, 4);
    case 2:
      if (!read_varint(wire, at, value) || !skip(wire, at, value)) return false;
      bytes = wire.substr(at - value, value);
      return true;
    default: return false;  // groups (3, 4) and invalid types
  }
}

}  // namespace

bool batch_event_slices(std::string_view wire, std::vector<std::string_view>& out) {
  out.clear();
  size_t at = 0;
  while (at < wire.size()) {
    uint64_t tag = 0;
    std::string_view bytes;
    if (!read_varint(wire, at, tag) || (tag >> 3) == 0 || !skip_value(wire, at, tag & 7, bytes)) return false;
    if ((tag >> 3) != kEventsField) continue;
    if ((tag & 7) != 2) return false;
    out.push_back(bytes);
  }
  return true;
}

}  // namespace credtrace::collector
