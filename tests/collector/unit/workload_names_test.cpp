// Unit tests of workload names in the store: filters take a workload's human names, retention, upgrades fill them.
#include <gtest/gtest.h>

#include <set>

#include "store_test_util.h"

using namespace credtrace::collector;
using namespace credtrace::collector::test_util;

namespace {

constexpr int kBatches = 40;  // more than one step of event key ranges (32)
constexpr int kEvents = 6;    // per batch; event i belongs to workload i % 3
const std::string kShared(64, 'c');

// wl-a: MCP server "svc"; wl-b: MCP server "svc" and systemd unit b.service; wl-c: the pod prod/api-0 with its own
// credential. wl-a and wl-b use one fingerprint per batch, 'e' or 'f'.
void describe(credtrace::v1::Workload& w, int kind) {
  w.set_id(std::string("wl-") + static_cast<char>('a' + kind));
  if (kind < 2) w.mutable_mcp()->set_server_name("svc");
  if (kind == 1) w.mutable_systemd()->set_unit("b.service");
  if (kind == 2) w.mutable_kubernetes()->set_namespace_("prod"), w.mutable_kubernetes()->set_pod("api-0");
}

BatchRows batch(int b) {
  credtrace::v1::IngestBatch batch;
  batch.set_agent_id("agent");
  batch.set_sequence(static_cast<uint64_t>(b + 1));
  for (int i = 0; i < kEvents; ++i) {
    auto* e = batch.add_events();
    e->set_type("credential_use");
    e->mutable_time()->set_seconds(1000 * (b + 1) + i);
    e->set_host("host-0");
    describe(*e->mutable_workload(), i % 3);
    e->mutable_credential()->set_fingerprint(i % 3 == 2 ? kShared : std::string(64, b % 2 ? 'e' : 'f'));
    e->mutable_credential()->set_type("openai");
  }
  BatchRows rows;
  EXPECT_TRUE(build_batch_rows(batch, 1, BatchLimits{}, rows).ok());
  return rows;
}

// Event ids (1, 2, ... in ingest order) of the workloads in `kinds`, newest first.
std::vector<int64_t> expected_ids(std::set<int> kinds) {
  std::vector<int64_t> ids;
  for (int id = kBatches * kEvents; id >= 1; --id)
    if (kinds.count((id - 1) % kEvents % 3)) ids.push_back(id);
  return ids;
}

std::vector<int64_t> all_event_ids(Store& store, EventFilter filter, int limit) {
  filter.limit = limit;
  std::vector<int64_t> ids;
  for (;;) {
    EventPage page;
    EXPECT_TRUE(store.events(filter, page).ok());
    for (const auto& e : page.events) ids.push_back(e.id);
    if (page.next_before_id == 0) return ids;
    filter.before_id = page.next_before_id;
  }
}

std::vector<int64_t> events_of(Store& store, const std::string& workload) {
  EventFilter filter;
  filter.workload = workload;
  return all_event_ids(store, filter, 7);
}

// The `key` of every item `list` returns for `filter`.
template <typename Filter, typename Page, typename Item>
std::set<std::string> listed(Store& store, Status (Store::*list)(const Filter&, Page&), const Filter& filter,
                             std::vector<Item> Page::*items, std::string Item::*key) {
  Page page;
  EXPECT_TRUE((store.*list)(filter, page).ok());
  std::set<std::string> out;
  for (const auto& item : page.*items) out.insert(item.*key);
  return out;
}

std::set<std::string> workloads_of(Store& store, const std::string& workload) {
  WorkloadFilter filter;
  filter.workload = workload;
  return listed(store, &Store::workloads, filter, &WorkloadPage::workloads, &WorkloadSummary::id);
}

std::set<std::string> credentials_of(Store& store, const std::string& workload) {
  CredentialFilter filter;
  filter.workload = workload;
  return listed(store, &Store::credentials, filter, &CredentialPage::credentials, &CredentialSummary::fingerprint);
}

std::set<std::string> shared_keys_of(Store& store, const std::string& workload) {
  AlertFilter filter;
  filter.kind = kAlertSharedKey;
  filter.workload = workload;
  return listed(store, &Store::alerts, filter, &AlertPage::alerts, &AlertSummary::fingerprint);
}

int64_t count_rows(const std::string& path, const std::string& sql) {
  std::unique_ptr<SqliteConnection> connection;
  EXPECT_TRUE(SqliteConnection::open(path, true, connection).ok());
  SqliteSession session(*connection);
  int64_t count = -1;
  EXPECT_TRUE(session.run(SqlQuery{sql, {}, false}, [&](const SqlRow& row) { count = row.int_at(0); }).ok());
  return count;
}

}  // namespace

TEST(WorkloadNames, EventFiltersTakeANameForEveryWorkloadItNames) {
  auto store = open_sqlite(temp_db("names"));
  IngestOutcome out;
  for (int b = 0; b < kBatches; ++b) ASSERT_TRUE(store->ingest(batch(b), out).ok());
  EXPECT_EQ(events_of(*store, "svc"), expected_ids({0, 1}));  // two workloads: each walked, merged newest first
  EXPECT_EQ(events_of(*store, "b.service"), expected_ids({1}));
  EXPECT_EQ(events_of(*store, "wl-a"), expected_ids({0}));
  EXPECT_EQ(events_of(*store, "prod/api-0"), expected_ids({2}));
  EXPECT_EQ(events_of(*store, "api-0"), expected_ids({2}));
  EXPECT_TRUE(events_of(*store, "nobody").empty());
  EventFilter combined;  // the fingerprint drives, the name filters
  combined.workload = "svc";
  combined.fingerprint = std::string(64, 'e');
  std::vector<int64_t> odd_batches;
  for (int64_t id : expected_ids({0, 1}))
    if ((id - 1) / kEvents % 2 == 1) odd_batches.push_back(id);
  EXPECT_EQ(all_event_ids(*store, combined, 5), odd_batches);
}

TEST(WorkloadNames, ListingsTakeNamesAndRetentionDropsThem) {
  std::string path = temp_db("names");
  auto store = open_sqlite(path);
  IngestOutcome out;
  for (int b = 0; b < 2; ++b) ASSERT_TRUE(store->ingest(batch(b), out).ok());
  EXPECT_EQ(workloads_of(*store, "svc"), (std::set<std::string>{"wl-a", "wl-b"}));
  EXPECT_EQ(workloads_of(*store, "prod/api-0"), std::set<std::string>{"wl-c"});
  EXPECT_EQ(credentials_of(*store, "api-0"), std::set<std::string>{kShared});
  EXPECT_EQ(credentials_of(*store, "b.service"), (std::set<std::string>{std::string(64, 'e'), std::string(64, 'f')}));
  EXPECT_EQ(shared_keys_of(*store, "svc"), (std::set<std::string>{std::string(64, 'e'), std::string(64, 'f')}));
  EXPECT_TRUE(shared_keys_of(*store, "api-0").empty());  // its credential is its alone
  // (svc, wl-a), (svc, wl-b), (b.service, wl-b), (prod/api-0, wl-c), (api-0, wl-c): each once for both batches
  EXPECT_EQ(count_rows(path, "SELECT COUNT(*) FROM workload_names"), 5);
  PruneResult pruned;
  ASSERT_TRUE(store->prune(1'000'000'000'000'000, pruned).ok());
  EXPECT_EQ(pruned.workloads, 3u);
  EXPECT_EQ(count_rows(path, "SELECT COUNT(*) FROM workload_names"), 0);
}

TEST(WorkloadNames, UpgradeNamesTheWorkloadsAlreadyStored) {
  std::string path = temp_db("names");
  old_database(path, 3, [](SqlSession& session) {
    credtrace::v1::Workload legacy;
    legacy.set_id("wl-old");
    legacy.mutable_mcp()->set_server_name("legacy");
    SqlParam payload = SqlParam::blob(legacy.SerializeAsString());
    ASSERT_TRUE(session.run("INSERT INTO workloads (id, host, name, workload, first_ns, last_ns, events) "
                            "VALUES ('wl-old', 'h', 'legacy', $1, 5, 5, 1)", {payload}).ok());
    ASSERT_TRUE(session.run("INSERT INTO events (batch_id, type, time_ns, host, agent_id, workload_id, fingerprint, "
                            "event) VALUES (1, 'credential_use', 5, 'h', 'a', 'wl-old', '', x'')", {}).ok());
  });
  auto store = open_sqlite(path);  // versions 4 (event keys) and 5 (workload names) over the stored rows
  EXPECT_EQ(workloads_of(*store, "legacy"), std::set<std::string>{"wl-old"});
  EXPECT_EQ(events_of(*store, "legacy"), std::vector<int64_t>{1});
}
