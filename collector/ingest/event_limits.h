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

// What bound_batch did to a batch it let through.
struct BoundedBatch {
  size_t changed = 0;    // events changed: to be stored re-encoded, not as received
  size_t truncated = 0;  // events with fields cut (named in their truncated_fields)
};

// One walk over every field of every event: a string over max_string_bytes is cut at a UTF-8 character boundary and
// a repeated field's entries past max_repeated_entries dropped, each cut named in the event's truncated_fields (a
// truncated_fields the agent sent is dropped); a value no event may hold refuses the batch, as
// "event N: FIELD.PATH: what" ("sent_at: ..." for the batch's own time): an event still over max_event_bytes, an
// observation time outside 2000-01-01 .. `now_ns` + max_ahead_seconds or nanos out of range, a NaN or infinity.
// JWT claims (exp, iat) are facts about a token, not observations: they only need to be valid timestamps (years 1
// to 9999).
Status bound_batch(v1::IngestBatch& batch, const EventLimits& limits, int64_t now_ns, BoundedBatch& out);

}  // namespace credtrace::collector
