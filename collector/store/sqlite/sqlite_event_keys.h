// SQLite event lookup by keys: per batch, the id range of the events of each type, workload, host and fingerprint.
// Written at ingest, walked by filtered event queries.
#pragma once

#include <cstdint>
#include <vector>

#include "ingest/batch_rows.h"
#include "store/sql_session.h"
#include "store/store.h"

namespace credtrace::collector {

// Why: four per-event indexes (type, workload, host, fingerprint) made four b-tree inserts per event, most of the
// writer's time. A batch holds few distinct values of each (one agent, its workloads, their credentials), so SQLite
// stores one event_keys row per (kind, value) and batch instead, with the first and last id of the batch's events
// carrying that value; a query reads those id ranges of the events table (rowid ranges, no index). The writer is
// alone and never reuses an event id, so ranges of different batches never overlap and a later batch's range lies
// above an earlier one's: walking ranges newest first yields events newest first. (PostgreSQL replicas write
// concurrently and their ids interleave: PostgreSQL keeps the per-event indexes.)

// Inserts the batch's keys; ids[i] is the id given to batch.events[i] (inside the ingest transaction).
Status write_event_keys(SqlSession& session, const BatchRows& batch, const std::vector<int64_t>& ids);

// The filtered page: events in the id ranges of the filter's most selective key (fingerprint, workload, host, then
// type), newest first; every filter applies to the events themselves. A workload name that names several workloads
// walks the ranges of each and keeps the newest. A filter without any of those keys runs as one query over the events
// table (read_events).
Status read_events_by_keys(SqlSession& session, const EventFilter& filter, EventPage& out);

}  // namespace credtrace::collector
