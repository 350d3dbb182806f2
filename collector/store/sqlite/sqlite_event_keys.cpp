// SQLite event lookup by keys: each batch's distinct types, workloads, hosts and fingerprints with the id range of
// their events, written at ingest and walked by filtered event queries.
#include "store/sqlite/sqlite_event_keys.h"

#include <limits>
#include <map>
#include <optional>
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

// The filter's most selective key, or none.
std::optional<Key> lookup_key(const EventFilter& f) {
  if (!f.fingerprint.empty()) return Key{kEventKeyFingerprint, f.fingerprint};
  if (!f.workload.empty()) return Key{kEventKeyWorkload, f.workload};
  if (!f.host.empty()) return Key{kEventKeyHost, f.host};
  if (!f.type.empty()) return Key{kEventKeyType, f.type};
  return std::nullopt;
}

// Up to kRangesPerStep id ranges of `key` starting below `below`, newest first.
Status key_ranges(SqlSession& session, const Key& key, int64_t below, std::vector<IdRange>& ranges) {
  ranges.clear();
  return session.run(sql::kKeyRanges, {key.first, key.second, below, kRangesPerStep},
                     [&](const SqlRow& row) { ranges.push_back(IdRange{row.int_at(0), row.int_at(1)}); });
}

// Appends the range's matching events, newest first, until `out` holds `wanted`.
Status append_range_events(SqlSession& session, const EventFilter& f, IdRange range, size_t wanted, EventPage& out) {
  return session.run(range_events_query(f, range.first, range.last, static_cast<int>(wanted - out.events.size())),
                     [&](const SqlRow& row) { out.events.push_back(StoredEvent{row.int_at(0), row.blob_at(1)}); });
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
  std::optional<Key> key = lookup_key(filter);
  if (!key) return read_events(session, filter, out);
  out = {};
  const size_t wanted = static_cast<size_t>(filter.limit) + 1;  // one more says a next page exists
  int64_t below = filter.before_id > 0 ? filter.before_id : std::numeric_limits<int64_t>::max();
  std::vector<IdRange> ranges;
  while (out.events.size() < wanted) {
    if (Status s = key_ranges(session, *key, below, ranges); !s.ok()) return s;
    for (size_t i = 0; i < ranges.size() && out.events.size() < wanted; ++i)
      if (Status s = append_range_events(session, filter, ranges[i], wanted, out); !s.ok()) return s;
    if (ranges.size() < static_cast<size_t>(kRangesPerStep)) break;
    below = ranges.back().first;
  }
  if (out.events.size() == wanted) {
    out.events.pop_back();
    out.next_before_id = out.events.back().id;
  }
  return {};
}

}  // namespace credtrace::collector
