// Top-level wire scan of an encoded IngestBatch: the bytes of each event as sent, so they are stored without re-encoding.
#pragma once

#include <string_view>
#include <vector>

namespace credtrace::collector {

// Fills `out` with the encoded bytes of every `events` (field 3) element of the IngestBatch in `wire`, in order.
// False when the top level is not well-formed protobuf wire format (groups included): then use the parsed messages.
bool batch_event_slices(std::string_view wire, std::vector<std::string_view>& out);

}  // namespace credtrace::collector
