// SQLite event lookup by keys: per batch, the id range of the events of each type, workload, host and fingerprint.
// Written at ingest, walked by filtered event queries.
#include "store/sqlite/sqlite_event_keys.h"

#include <algorithm>
#include <limits>
#include <map>
#include <string>
#include <utility>

#include "store/sql_reads.h"
#include "store/store_sql.h"

namespace credtrace::collector {
namespace {

constexpr int64_t kRangesPerStep = 32;  // key rows read per step of a filtered query

using Key = std::pair<const char*, std::string>;  // (kind, value)
struct IdRange {
  int64_t first = 0, last = 0;
};

// Each distinct (kind, value) of the batch with the ids of its first and last event.
std::map<Key, IdRange> batch_keys(const BatchRows& batch, const std::vector<int64_t>& ids) {
  std::map<Key, IdRange> keys;
  auto add = [&](const char* kind, const std::string& value, int64_t id) {
    if (value.empty()) return;
    auto [it, added] = keys.try_emplace(Key{kind, value}, IdRange{id, id});
    if (!added) it->second.last = id;  // ids ascend with the events
  };
  for (size_t i = 0; i < batch.events.size(); ++i) {
    const EventRow& e = batch.events[i];
    add(kEventKeyType, e.type, ids[i]);
    add(kEventKeyWorkload, e.workload_id, ids[i]);
    add(kEventKeyHost, e.host, ids[i]);
    add(kEventKeyFingerprint, e.fingerprint, ids[i]);
  }
  return keys;
}

// The filter's most selective key, or none; a workload filter that names several workloads gives a key each.
std::vector<Key> lookup_keys(const EventFilter& f, const WorkloadIds& workloads) {
  if (!f.fingerprint.empty()) return {Key{kEventKeyFingerprint, f.fingerprint}};
  std::vector<Key> keys;
  for (const auto& id : workloads) keys.emplace_back(kEventKeyWorkload, id);
  if (keys.empty() && !f.host.empty()) keys.emplace_back(kEventKeyHost, f.host);
  if (keys.empty() && !f.type.empty()) keys.emplace_back(kEventKeyType, f.type);
  return keys;
}

// Up to kRangesPerStep id ranges of `key` starting below `below`, newest first.
Status key_ranges(SqlSession& session, const Key& key, int64_t below, std::vector<IdRange>& ranges) {
  ranges.clear();
  return session.run(sql::kKeyRanges, {key.first, key.second, below, kRangesPerStep},
                     [&](const SqlRow& row) { ranges.push_back(IdRange{row.int_at(0), row.int_at(1)}); });
}

// The newest `wanted` events of `key`'s ranges that match the filter, appended to `out` newest first. A workload key
// keeps to its own workload: the ranges of the others a name matches are walked for theirs.
Status walk_key(SqlSession& session, const EventFilter& f, const WorkloadIds& workloads, const Key& key, size_t wanted,
                std::vector<StoredEvent>& out) {
  const WorkloadIds& own = key.first == kEventKeyWorkload ? WorkloadIds{key.second} : workloads;
  const size_t start = out.size();
  int64_t below = f.before_id > 0 ? f.before_id : std::numeric_limits<int64_t>::max();
  std::vector<IdRange> ranges;
  while (out.size() - start < wanted) {
    if (Status s = key_ranges(session, key, below, ranges); !s.ok()) return s;
    for (size_t i = 0; i < ranges.size() && out.size() - start < wanted; ++i) {
      const int rows = static_cast<int>(wanted - (out.size() - start));
      SqlQuery q = range_events_query(f, own, ranges[i].first, ranges[i].last, rows);
      Status s = session.run(q, [&](const SqlRow& row) { out.push_back(StoredEvent{row.int_at(0), row.blob_at(1)}); });
      if (!s.ok()) return s;
    }
    if (ranges.size() < static_cast<size_t>(kRangesPerStep)) break;
    below = ranges.back().first;
  }
  return {};
}

}  // namespace

Status write_event_keys(SqlSession& session, const BatchRows& batch, const std::vector<int64_t>& ids) {
  std::map<Key, IdRange> keys = batch_keys(batch, ids);
  std::vector<std::pair<const Key*, IdRange>> rows;
  for (const auto& [key, range] : keys) rows.emplace_back(&key, range);
  return session.run_rows(sql::kInsertEventKeys, rows.size(), [&](size_t i, RowValues& v) {
    v.add(rows[i].first->first), v.add(rows[i].first->second), v.add(rows[i].second.first), v.add(rows[i].second.last);
  });
}

Status read_events_by_keys(SqlSession& session, const EventFilter& filter, EventPage& out) {
  WorkloadIds workloads;
  if (Status s = resolve_workload(session, filter.workload, workloads); !s.ok()) return s;
  std::vector<Key> keys = lookup_keys(filter, workloads);
  if (keys.empty()) return read_events(session, filter, out);
  out = {};
  const size_t wanted = static_cast<size_t>(filter.limit) + 1;  // one more says a next page exists
  for (const Key& key : keys)
    if (Status s = walk_key(session, filter, workloads, key, wanted, out.events); !s.ok()) return s;
  if (keys.size() > 1)  // each walk is newest first: together, the newest `wanted` of them all
    std::sort(out.events.begin(), out.events.end(), [](const auto& a, const auto& b) { return a.id > b.id; });
  if (trim_page(out.events, filter.limit)) out.next_before_id = out.events.back().id;
  return {};
}

}  // namespace credtrace::collector
