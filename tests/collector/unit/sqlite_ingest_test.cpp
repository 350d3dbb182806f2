// Unit tests of SQLite group commits: same rows as one transaction per batch, replays, failures, aggregate sums.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "store/sqlite/sqlite_ingest.h"
#include "store/store_sql.h"
#include "store_test_util.h"

using namespace credtrace::collector;
using namespace credtrace::collector::test_util;

namespace {

std::unique_ptr<SqliteConnection> migrated(const std::string& path) {
  std::unique_ptr<SqliteConnection> connection;
  EXPECT_TRUE(SqliteConnection::open(path, false, connection).ok());
  EXPECT_TRUE(connection->exec("PRAGMA journal_mode = WAL").ok());
  SqliteTransaction tx(*connection);
  SqliteSession session(*connection);
  EXPECT_TRUE(apply_migrations(session, sqlite_migrations()).ok());
  EXPECT_TRUE(tx.commit().ok());
  return connection;
}

std::string fingerprint(int n) { return std::string(63, 'a') + static_cast<char>('0' + n); }

// Batch `sequence` of `agent`: uses of 3 credentials by 4 workloads on 2 hosts (so keys are shared), some over
// plain HTTP, one exposure from a config file, times spread over a day.
credtrace::v1::IngestBatch make_batch(const std::string& agent, uint64_t sequence) {
  credtrace::v1::IngestBatch b;
  b.set_agent_id(agent);
  b.set_sequence(sequence);
  for (int i = 0; i < 40; ++i) {
    auto* e = b.add_events();
    int n = static_cast<int>(sequence) * 7 + i;
    e->set_type(i == 5 ? "secret_exposure" : "credential_use");
    e->mutable_time()->set_seconds(1'700'000'000 + (n * 7919) % 86400);
    e->set_host("host-" + std::to_string(n % 2));
    e->mutable_workload()->set_id("wl-" + std::to_string(n % 4));
    e->mutable_credential()->set_fingerprint(fingerprint(n % 3));
    e->mutable_credential()->set_type(n % 3 ? "github_pat" : "openai");
    e->mutable_destination()->set_host("api-" + std::to_string(n % 5) + ".example.com");
    e->mutable_destination()->set_tls(n % 6 != 0);
    if (i == 5) {
      auto* s = e->add_sources();
      s->set_kind("config");
      s->set_path("/home/u/.cursor/mcp.json");
    } else {
      e->mutable_credential_use()->set_count(static_cast<uint32_t>(1 + n % 3));
    }
  }
  return b;
}

BatchRows rows_of(credtrace::v1::IngestBatch batch) {
  BatchRows rows;
  EXPECT_TRUE(build_batch_rows(batch, 42, BatchLimits{}, rows).ok());
  return rows;
}

std::vector<std::string> dump(SqliteConnection& connection, const std::string& select) {
  std::vector<std::string> out;
  SqliteSession session(connection);
  Status s = session.run(SqlQuery{select, {}, false}, [&](const SqlRow& row) { out.push_back(row.text_at(0)); });
  EXPECT_TRUE(s.ok()) << s.message();
  return out;
}

// Every stored row of every ingest table, as text.
std::map<std::string, std::vector<std::string>> dump_all(SqliteConnection& c) {
  return {
      {"batches", dump(c, "SELECT agent_id || '|' || sequence || '|' || received_ns || '|' || events || '|' || id "
                          "FROM batches ORDER BY id")},
      {"events", dump(c, "SELECT id || '|' || batch_id || '|' || type || '|' || time_ns || '|' || host || '|' || "
                         "agent_id || '|' || workload_id || '|' || fingerprint || '|' || hex(event) FROM events "
                         "ORDER BY id")},
      {"credentials", dump(c, "SELECT fingerprint || '|' || type || '|' || preview || '|' || first_ns || '|' || "
                              "last_ns || '|' || uses || '|' || exposures || '|' || events || '|' || first_event "
                              "FROM credentials ORDER BY fingerprint")},
      {"links", dump(c, "SELECT fingerprint || '|' || kind || '|' || value || '|' || first_ns || '|' || last_ns || "
                        "'|' || events || '|' || uses || '|' || first_event FROM credential_links "
                        "ORDER BY fingerprint, kind, value")},
      {"workloads", dump(c, "SELECT id || '|' || host || '|' || name || '|' || hex(workload) || '|' || first_ns || "
                            "'|' || last_ns || '|' || events FROM workloads ORDER BY id")},
      {"alerts", dump(c, "SELECT id || '|' || kind || '|' || fingerprint || '|' || subject || '|' || credential_type "
                         "|| '|' || detail || '|' || first_ns || '|' || last_ns || '|' || hits || '|' || evidence "
                         "FROM alerts ORDER BY id")},
      {"evidence", dump(c, "SELECT alert_id || '|' || event_id FROM alert_evidence ORDER BY alert_id, event_id")},
      {"event_keys", dump(c, "SELECT kind || '|' || value || '|' || first_id || '|' || last_id FROM event_keys "
                             "ORDER BY kind, value, first_id")},
      {"id_counters", dump(c, "SELECT name || '|' || value FROM id_counters ORDER BY name")},
  };
}

std::vector<IngestJob> jobs_for(const std::vector<BatchRows>& batches) {
  std::vector<IngestJob> jobs(batches.size());
  for (size_t i = 0; i < batches.size(); ++i) jobs[i].batch = &batches[i];
  return jobs;
}

void write_group(SqliteConnection& connection, std::vector<IngestJob>& jobs, size_t from, size_t count) {
  std::vector<IngestJob*> group;
  for (size_t i = from; i < from + count; ++i) group.push_back(&jobs[i]);
  write_sqlite_group(connection, AlertConfig{}, group);
}

// Batches of two agents, with a replay of an earlier batch in the middle and one at the end.
std::vector<BatchRows> scenario() {
  std::vector<BatchRows> batches;
  for (uint64_t s = 1; s <= 6; ++s) batches.push_back(rows_of(make_batch(s % 2 ? "agent-a" : "agent-b", s)));
  batches.insert(batches.begin() + 4, rows_of(make_batch("agent-a", 3)));  // replay of sequence 3
  batches.push_back(rows_of(make_batch("agent-b", 6)));                    // replay of the batch before it
  return batches;
}

}  // namespace

TEST(SqliteGroupCommit, OneGroupStoresWhatOneTransactionPerBatchStores) {
  std::vector<BatchRows> batches = scenario();
  auto alone = migrated(temp_db("group"));
  auto together = migrated(temp_db("group"));
  std::vector<IngestJob> alone_jobs = jobs_for(batches), together_jobs = jobs_for(batches);
  for (size_t i = 0; i < batches.size(); ++i) write_group(*alone, alone_jobs, i, 1);
  write_group(*together, together_jobs, 0, batches.size());
  for (size_t i = 0; i < batches.size(); ++i) {
    ASSERT_TRUE(together_jobs[i].status.ok()) << together_jobs[i].status.message();
    EXPECT_EQ(together_jobs[i].outcome.duplicate, alone_jobs[i].outcome.duplicate) << i;
    EXPECT_EQ(together_jobs[i].outcome.accepted, alone_jobs[i].outcome.accepted) << i;
  }
  EXPECT_TRUE(together_jobs[4].outcome.duplicate);  // the replays, inside the group
  EXPECT_TRUE(together_jobs[7].outcome.duplicate);
  EXPECT_EQ(together_jobs[7].outcome.accepted, 40u);
  auto expected = dump_all(*alone), actual = dump_all(*together);
  EXPECT_EQ(expected["events"].size(), 6u * 40u);
  EXPECT_FALSE(expected["alerts"].empty());  // shared_key, plain_http, hard_coded
  EXPECT_EQ(expected["id_counters"], std::vector<std::string>{"event|240"});
  EXPECT_FALSE(expected["event_keys"].empty());
  for (const auto& [table, rows] : expected) EXPECT_EQ(actual[table], rows) << table;
}

TEST(SqliteGroupCommit, AggregatesHoldEveryEventsSumsAndTimes) {
  std::vector<credtrace::v1::IngestBatch> sent;
  std::vector<BatchRows> batches;
  for (uint64_t s = 1; s <= 5; ++s) {
    sent.push_back(make_batch("agent-a", s));
    batches.push_back(rows_of(sent.back()));
  }
  auto connection = migrated(temp_db("group"));
  std::vector<IngestJob> jobs = jobs_for(batches);
  write_group(*connection, jobs, 0, 2);
  write_group(*connection, jobs, 2, 3);
  struct Expected {
    int64_t first = INT64_MAX, last = 0, events = 0, uses = 0;
  };
  std::map<std::string, Expected> credentials, workload_links;
  for (const auto& batch : sent)
    for (const auto& e : batch.events()) {
      int64_t t = e.time().seconds() * 1'000'000'000LL;
      int64_t uses = e.has_credential_use() ? e.credential_use().count() : 0;
      for (Expected* x : {&credentials[e.credential().fingerprint()],
                          &workload_links[e.credential().fingerprint() + "|workload|" + e.workload().id()]}) {
        x->first = std::min(x->first, t), x->last = std::max(x->last, t), x->events += 1, x->uses += uses;
      }
    }
  std::vector<std::string> want_credentials, want_links;
  for (const auto& [fp, x] : credentials)
    want_credentials.push_back(fp + "|" + std::to_string(x.first) + "|" + std::to_string(x.last) + "|" +
                               std::to_string(x.events) + "|" + std::to_string(x.uses));
  for (const auto& [key, x] : workload_links)
    want_links.push_back(key + "|" + std::to_string(x.first) + "|" + std::to_string(x.last) + "|" +
                         std::to_string(x.events) + "|" + std::to_string(x.uses));
  EXPECT_EQ(dump(*connection, "SELECT fingerprint || '|' || first_ns || '|' || last_ns || '|' || events || '|' || uses "
                              "FROM credentials ORDER BY fingerprint"),
            want_credentials);
  EXPECT_EQ(dump(*connection, "SELECT fingerprint || '|' || kind || '|' || value || '|' || first_ns || '|' || last_ns "
                              "|| '|' || events || '|' || uses FROM credential_links WHERE kind = 'workload' "
                              "ORDER BY fingerprint, value"),
            want_links);
  // first_event names the stored event that gave first_ns.
  EXPECT_EQ(dump(*connection, "SELECT COUNT(*) FROM credentials c JOIN events e ON e.id = c.first_event "
                              "AND e.fingerprint = c.fingerprint AND e.time_ns = c.first_ns"),
            std::vector<std::string>{"3"});
}

TEST(SqliteGroupCommit, AFailingBatchFailsAloneAndTheOthersAreStored) {
  auto connection = migrated(temp_db("group"));
  ASSERT_TRUE(connection->exec("CREATE TRIGGER refuse BEFORE INSERT ON batches WHEN NEW.agent_id = 'bad' "
                               "BEGIN SELECT RAISE(ABORT, 'refused'); END").ok());
  std::vector<BatchRows> batches = {rows_of(make_batch("agent-a", 1)), rows_of(make_batch("bad", 1)),
                                    rows_of(make_batch("agent-a", 2))};
  std::vector<IngestJob> jobs = jobs_for(batches);
  write_group(*connection, jobs, 0, jobs.size());
  EXPECT_TRUE(jobs[0].status.ok());
  EXPECT_FALSE(jobs[1].status.ok());
  EXPECT_TRUE(jobs[2].status.ok());
  EXPECT_EQ(dump(*connection, "SELECT COUNT(*) FROM events"), std::vector<std::string>{"80"});
  EXPECT_EQ(dump(*connection, "SELECT group_concat(agent_id || sequence) FROM batches"),
            std::vector<std::string>{"agent-a1,agent-a2"});
}

TEST(SqliteGroupCommit, UpgradedDatabaseKeepsItsEventsFindableByFingerprint) {
  std::string path = temp_db("group");
  old_database(path, 2, [](SqlSession& session) {
    ASSERT_TRUE(session.run("INSERT INTO events (batch_id, type, time_ns, host, agent_id, workload_id, fingerprint, "
                            "event) VALUES (1, 'credential_use', 5, 'h', 'a', 'w', $1, x'')", {fingerprint(1)}).ok());
  });
  auto store = open_sqlite(path, {}, 1);
  credtrace::v1::IngestBatch b = make_batch("agent-a", 1);
  IngestOutcome out;
  ASSERT_TRUE(store->ingest(rows_of(b), out).ok());
  EventFilter filter;
  filter.fingerprint = fingerprint(1);
  filter.limit = 1000;
  EventPage page;
  ASSERT_TRUE(store->events(filter, page).ok());
  int expected = 1;  // the event stored before the upgrade, and this batch's
  for (const auto& e : b.events()) expected += e.credential().fingerprint() == fingerprint(1);
  EXPECT_EQ(page.events.size(), static_cast<size_t>(expected));
  EXPECT_EQ(page.events.back().id, 1);
}

TEST(SqliteGroupCommit, ChunksCoverEveryRowWithFewStatementSizes) {
  std::vector<size_t> sizes;
  size_t next = 0;
  ASSERT_TRUE(for_each_chunk(500, [&](size_t from, size_t rows) {
                EXPECT_EQ(from, next);
                next += rows;
                sizes.push_back(rows);
                return Status();
              }).ok());
  EXPECT_EQ(next, 500u);
  EXPECT_EQ(std::count(sizes.begin(), sizes.end(), 64u), 7);  // 448
  EXPECT_EQ(std::count(sizes.begin(), sizes.end(), 8u), 6);   // 48
  EXPECT_EQ(std::count(sizes.begin(), sizes.end(), 1u), 4);
  EXPECT_TRUE(for_each_chunk(0, [](size_t, size_t) { return Status::error("never"); }).ok());
  EXPECT_FALSE(for_each_chunk(3, [](size_t, size_t) { return Status::error("stops"); }).ok());
}
