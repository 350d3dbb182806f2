// Claiming a batch's (agent_id, sequence) inside the open ingest transaction: the dedupe both stores share.
#pragma once

#include <cstdint>

#include "common/status.h"
#include "ingest/batch_rows.h"
#include "store/sql_session.h"
#include "store/store.h"

namespace credtrace::collector {

// Inserts the batch row and sets batch_id to its id. When the (agent_id, sequence) is already stored, batch_id is 0
// and out says so (duplicate, with the events the first copy stored): nothing else of the batch may be written.
Status claim_batch(SqlSession& session, const BatchRows& batch, IngestOutcome& out, int64_t& batch_id);

}  // namespace credtrace::collector
