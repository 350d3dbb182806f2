// Bounds on what one ingest batch may make the collector store: every string and repeated field (cut and flagged),
// each event's size, timestamps in a sane window with nanos in range, finite numbers (refused); field by field
// through reflection, so a field added to the protocol is covered without a change here.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/status.h"
#include "credtrace/v1/ingest.pb.h"

namespace credtrace::collector {

struct EventLimits {
  size_t max_string_bytes = 64u << 10;     // every string or bytes field
  size_t max_repeated_entries = 16384;     // every repeated field (args, env names, aud, ...)
  size_t max_event_bytes = 1u << 20;       // one event, encoded
  int64_t earliest_seconds = 946684800;    // 2000-01-01T00:00:00Z: observation times before it are forged
  int64_t max_ahead_seconds = 86400;       // an agent's clock at most a day ahead of the collector's
};

// Cuts every string over max_string_bytes (at a UTF-8 character boundary) and drops the entries of every repeated
// field past max_repeated_entries, naming each cut in the event's truncated_fields (a truncated_fields the agent
// sent is dropped). Returns the events changed (to be stored re-encoded, not as received).
size_t truncate_oversized_fields(v1::IngestBatch& batch, const EventLimits& limits);

// The first limit the batch breaks, as "event N: FIELD.PATH: what, limit" (or "batch: ..." for the batch's own
// fields); ok when it breaks none. `now_ns`: the collector's clock (UNIX ns). JWT claims (exp, iat) are facts about a
// token, not observations: they only need to be valid timestamps (years 1 to 9999).
Status check_batch_limits(const v1::IngestBatch& batch, const EventLimits& limits, int64_t now_ns);

}  // namespace credtrace::collector
