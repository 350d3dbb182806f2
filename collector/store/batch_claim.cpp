// Claiming a batch's (agent_id, sequence) inside the open ingest transaction: the dedupe both stores share.
#include "store/batch_claim.h"

#include "store/store_sql.h"

namespace credtrace::collector {

Status claim_batch(SqlSession& session, const BatchRows& batch, IngestOutcome& out, int64_t& batch_id) {
  auto sequence = static_cast<int64_t>(batch.sequence);  // uint64 stored bit-for-bit in a signed column
  batch_id = 0;
  Status s = session.run(sql::kInsertBatch,
                         {batch.agent_id, sequence, batch.received_ns, static_cast<int64_t>(batch.events.size())},
                         [&](const SqlRow& row) { batch_id = row.int_at(0); });
  if (!s.ok() || batch_id != 0) return s;
  out.duplicate = true;
  return session.run(sql::kSelectBatchEvents, {batch.agent_id, sequence},
                     [&](const SqlRow& row) { out.accepted = static_cast<uint64_t>(row.int_at(0)); });
}

}  // namespace credtrace::collector
