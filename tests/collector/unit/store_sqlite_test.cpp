// Unit tests of the SQLite store: migrations, dedupe, aggregates, paging, retention, reopen.
#include <gtest/gtest.h>

#include "store_test_util.h"

using namespace credtrace::collector;
using namespace credtrace::collector::test_util;

namespace {

BatchRows batch(const std::string& agent, uint64_t sequence, const std::string& fp, int events, int64_t t0 = 1000) {
  credtrace::v1::IngestBatch b;
  b.set_agent_id(agent);
  b.set_sequence(sequence);
  for (int i = 0; i < events; ++i) {
    auto* e = b.add_events();
    e->set_type("credential_use");
    e->mutable_time()->set_seconds(t0 + i);
    e->set_host("host-" + std::to_string(i % 2));
    e->mutable_workload()->set_id("wl-" + std::to_string(i % 3));
    e->mutable_credential()->set_fingerprint(fp);
    e->mutable_credential()->set_type("openai");
    e->mutable_credential_use()->set_count(2);
  }
  BatchRows rows;
  EXPECT_TRUE(build_batch_rows(b, 1, BatchLimits{}, rows).ok());
  return rows;
}

}  // namespace

TEST(SqliteStore, DedupesOnAgentAndSequence) {
  std::string path = temp_db("store");
  auto store = open_sqlite(path);
  const std::string fp(64, 'b');
  IngestOutcome out;
  ASSERT_TRUE(store->ingest(batch("a1", 1, fp, 10), out).ok());
  EXPECT_FALSE(out.duplicate);
  EXPECT_EQ(out.accepted, 10u);
  ASSERT_TRUE(store->ingest(batch("a1", 1, fp, 10), out).ok());
  EXPECT_TRUE(out.duplicate);
  EXPECT_EQ(out.accepted, 10u);
  ASSERT_TRUE(store->ingest(batch("a2", 1, fp, 10), out).ok());  // same sequence, other agent
  EXPECT_FALSE(out.duplicate);

  std::optional<CredentialSummary> c;
  ASSERT_TRUE(store->credential(fp, 100, c).ok());
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->events, 20);
  EXPECT_EQ(c->uses, 40);
  EXPECT_EQ(c->links["workload"].total, 3);
  EXPECT_EQ(c->links["host"].total, 2);
}

TEST(SqliteStore, EventPagingAndFilters) {
  std::string path = temp_db("store");
  auto store = open_sqlite(path);
  IngestOutcome out;
  ASSERT_TRUE(store->ingest(batch("a1", 1, std::string(64, 'c'), 25), out).ok());
  EventFilter filter;
  filter.limit = 10;
  std::vector<int64_t> ids;
  for (int page = 0; page < 10; ++page) {
    EventPage p;
    ASSERT_TRUE(store->events(filter, p).ok());
    for (const auto& e : p.events) ids.push_back(e.id);
    if (p.next_before_id == 0) break;
    filter.before_id = p.next_before_id;
  }
  ASSERT_EQ(ids.size(), 25u);
  for (size_t i = 1; i < ids.size(); ++i) EXPECT_LT(ids[i], ids[i - 1]);

  EventFilter by_workload;
  by_workload.workload = "wl-0";
  by_workload.since_ns = 1003'000'000'000;
  EventPage p;
  ASSERT_TRUE(store->events(by_workload, p).ok());
  EXPECT_EQ(p.events.size(), 8u);  // seconds 1003, 1006, ..., 1024
}

std::vector<int64_t> descending_ids(int64_t from, int64_t to) {
  std::vector<int64_t> ids;
  for (int64_t id = to; id >= from; --id) ids.push_back(id);
  return ids;
}

// Every id of the events matching `filter`, page after page of `page_size`.
std::vector<int64_t> all_event_ids(Store& store, EventFilter filter, int page_size) {
  filter.limit = page_size;
  std::vector<int64_t> ids;
  for (int page = 0; page < 1000; ++page) {
    EventPage p;
    EXPECT_TRUE(store.events(filter, p).ok());
    for (const auto& e : p.events) ids.push_back(e.id);
    if (p.next_before_id == 0) break;
    filter.before_id = p.next_before_id;
  }
  return ids;
}

// Ids (from 1, in ingest order) of the events of `batches` batches of 25 made by batch() that `keep` accepts, newest
// first. Event i of a batch: host-(i % 2), wl-(i % 3), time t0 + i.
template <typename Keep>
std::vector<int64_t> expected_ids(int batches, Keep keep) {
  std::vector<int64_t> ids;
  for (int64_t id = batches * 25; id >= 1; --id)
    if (keep(static_cast<int>((id - 1) / 25), static_cast<int>((id - 1) % 25))) ids.push_back(id);
  return ids;
}

TEST(SqliteStore, FilteredEventsPageAcrossBatchesThroughEventKeys) {
  std::string path = temp_db("store");
  auto store = open_sqlite(path);
  IngestOutcome out;
  const int kBatches = 80;  // more than one step of key ranges (32) for every key
  for (int b = 0; b < kBatches; ++b) {
    std::string fp(64, b % 2 ? 'e' : 'f');
    ASSERT_TRUE(store->ingest(batch("a" + std::to_string(b % 3), b + 1, fp, 25, 1000 * (b + 1)), out).ok());
  }
  EventFilter by_workload;
  by_workload.workload = "wl-1";
  EXPECT_EQ(all_event_ids(*store, by_workload, 7), expected_ids(kBatches, [](int, int i) { return i % 3 == 1; }));
  EventFilter by_fingerprint;  // odd batches only
  by_fingerprint.fingerprint = std::string(64, 'e');
  EXPECT_EQ(all_event_ids(*store, by_fingerprint, 30), expected_ids(kBatches, [](int b, int) { return b % 2 == 1; }));
  EventFilter combined;  // fingerprint drives, host, workload and time filter the events
  combined.fingerprint = std::string(64, 'f');
  combined.host = "host-0";
  combined.workload = "wl-2";
  combined.since_ns = 20'000'000'000'000;
  combined.until_ns = 60'000'000'000'000;
  EXPECT_EQ(all_event_ids(*store, combined, 4), expected_ids(kBatches, [](int b, int i) {
              int64_t t = 1000 * (b + 1) + i;
              return b % 2 == 0 && i % 2 == 0 && i % 3 == 2 && t >= 20000 && t < 60000;
            }));
  EventFilter by_type;
  by_type.type = "credential_use";
  EXPECT_EQ(all_event_ids(*store, by_type, 100).size(), static_cast<size_t>(kBatches * 25));
  EventFilter absent;
  absent.workload = "wl-9";
  EXPECT_TRUE(all_event_ids(*store, absent, 10).empty());

  PruneResult pruned;  // retention deletes the newest batches' events too when their times are old (clock skew)
  ASSERT_TRUE(store->prune(1'000'000'000'000'000, pruned).ok());
  EXPECT_EQ(pruned.events, static_cast<size_t>(kBatches * 25));
  ASSERT_TRUE(store->ingest(batch("a0", 1000, std::string(64, 'e'), 25, 5), out).ok());
  // Ids go on after the deleted ones (no key range of a deleted batch can cover a new event).
  EXPECT_EQ(all_event_ids(*store, by_fingerprint, 10), descending_ids(kBatches * 25 + 1, kBatches * 25 + 25));
}

TEST(SqliteStore, CredentialPagingAndRetention) {
  std::string path = temp_db("store");
  auto store = open_sqlite(path);
  IngestOutcome out;
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(store->ingest(batch("a1", i + 1, std::string(64, static_cast<char>('0' + i)), 2, 1000 * (i + 1)), out).ok());
  CredentialFilter filter;
  filter.limit = 2;
  std::vector<std::string> seen;
  for (;;) {
    CredentialPage page;
    ASSERT_TRUE(store->credentials(filter, page).ok());
    for (const auto& c : page.credentials) seen.push_back(c.fingerprint);
    if (page.next_after.empty()) break;
    filter.after = page.next_after;
  }
  EXPECT_EQ(seen.size(), 5u);

  PruneResult pruned;
  ASSERT_TRUE(store->prune(3000'000'000'000, pruned).ok());  // before second 3000: credentials 0 and 1
  EXPECT_EQ(pruned.events, 4u);
  EXPECT_EQ(pruned.credentials, 2u);
  store.reset();
  auto reopened = open_sqlite(path);  // migrations are not reapplied
  CredentialPage page;
  ASSERT_TRUE(reopened->credentials(CredentialFilter{}, page).ok());
  EXPECT_EQ(page.credentials.size(), 3u);
}

namespace {

// A batch of one event of `type` for workload wl-tls whose Workload says `coverage` (with one implementation).
BatchRows tls_batch(uint64_t sequence, const std::string& type, const std::string& coverage, int64_t seconds) {
  credtrace::v1::IngestBatch b;
  b.set_agent_id("a1");
  b.set_sequence(sequence);
  auto* e = b.add_events();
  e->set_type(type);
  e->mutable_time()->set_seconds(seconds);
  e->mutable_workload()->set_id("wl-tls");
  e->mutable_workload()->set_tls_coverage(coverage);
  auto* rustls = e->mutable_workload()->add_tls();
  rustls->set_implementation("rustls");
  rustls->set_reason("unsupported: rustls");
  BatchRows rows;
  EXPECT_TRUE(build_batch_rows(b, 1, BatchLimits{}, rows).ok());
  return rows;
}

std::string stored_tls_coverage(Store& store, std::optional<std::string> filter = std::nullopt) {
  WorkloadFilter f;
  f.tls_coverage = std::move(filter);
  WorkloadPage page;
  EXPECT_TRUE(store.workloads(f, page).ok());
  if (page.workloads.size() == 1) return page.workloads[0].tls_coverage;
  return "<" + std::to_string(page.workloads.size()) + ">";
}

}  // namespace

TEST(SqliteStore, WorkloadKeepsItsNewestTlsReport) {
  std::string path = temp_db("store");
  auto store = open_sqlite(path);
  IngestOutcome out;
  ASSERT_TRUE(store->ingest(tls_batch(1, "credential_use", "covered", 100), out).ok());
  EXPECT_EQ(stored_tls_coverage(*store), "");  // only other events: unknown
  ASSERT_TRUE(store->ingest(tls_batch(2, "tls_coverage", "not_covered", 300), out).ok());
  ASSERT_TRUE(store->ingest(tls_batch(3, "mcp_server_start", "covered", 200), out).ok());  // older: ignored
  ASSERT_TRUE(store->ingest(tls_batch(4, "credential_use", "covered", 400), out).ok());    // not a TLS report
  EXPECT_EQ(stored_tls_coverage(*store), "not_covered");
  EXPECT_EQ(stored_tls_coverage(*store, std::string("not_covered")), "not_covered");
  EXPECT_EQ(stored_tls_coverage(*store, std::string("covered")), "<0>");
  EXPECT_EQ(stored_tls_coverage(*store, std::string()), "<0>");  // unknown
  ASSERT_TRUE(store->ingest(tls_batch(5, "tls_coverage", "partial", 500), out).ok());
  EXPECT_EQ(stored_tls_coverage(*store), "partial");
}
