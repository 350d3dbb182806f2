// PostgreSQL ingest-transaction aggregates: write_aggregates with one array (unnest) upsert per table.
#pragma once

#include "store/aggregate_writer.h"

namespace credtrace::collector {

// Same rows and AggregateState as write_aggregates, in three statements instead of one per row.
Status pg_write_aggregates(SqlSession& session, const BatchRows& batch, const std::vector<int64_t>& event_ids,
                           AggregateState& out);

}  // namespace credtrace::collector
