// SQLite ingest transactions: a group of batches in one transaction, each deduplicated, with aggregates and alerts.
#pragma once

#include <vector>

#include "alerts/alert_rules.h"
#include "store/sqlite/group_commit.h"
#include "store/sqlite/sqlite_db.h"

namespace credtrace::collector {

// Writes `group` in submission order in one transaction, as if each batch had its own (a replay inside the group is a
// duplicate of the earlier copy), and sets each job's status and outcome. Should that transaction fail, it is rolled
// back and every batch is written in a transaction of its own.
void write_sqlite_group(SqliteConnection& connection, const AlertConfig& alerts, std::vector<IngestJob*>& group);

}  // namespace credtrace::collector
