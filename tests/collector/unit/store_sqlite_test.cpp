// Unit tests of the SQLite store: migrations, dedupe, aggregates, paging, retention, reopen.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>

#include "store.h"

using namespace credtrace::collector;

namespace {

std::string temp_db() {
  static int n = 0;
  std::string path = ::testing::TempDir() + "/collector-store-" + std::to_string(getpid()) + "-" +
                     std::to_string(n++) + ".db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  return path;
}

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

std::unique_ptr<Store> open(const std::string& path) {
  std::unique_ptr<Store> store;
  Status s = open_store(StoreOptions{"sqlite:" + path, 2, false, {}}, store);
  EXPECT_TRUE(s.ok()) << s.message();
  return store;
}

}  // namespace

TEST(SqliteStore, DedupesOnAgentAndSequence) {
  std::string path = temp_db();
  auto store = open(path);
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
  std::string path = temp_db();
  auto store = open(path);
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

TEST(SqliteStore, CredentialPagingAndRetention) {
  std::string path = temp_db();
  auto store = open(path);
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
  auto reopened = open(path);  // migrations are not reapplied
  CredentialPage page;
  ASSERT_TRUE(reopened->credentials(CredentialFilter{}, page).ok());
  EXPECT_EQ(page.credentials.size(), 3u);
}
