// Unit tests of alerts computed at ingest in the SQLite store: shared key, long-lived, evidence ids, replay, cap.
#include <gtest/gtest.h>

#include "alerts/alert_writer.h"
#include "store_test_util.h"

using namespace credtrace::collector;
using namespace credtrace::collector::test_util;

namespace {

constexpr int64_t kDay = 86400;
const std::string kFp(64, 'd');

void add_use(credtrace::v1::IngestBatch& b, const std::string& workload, const std::string& host, int64_t seconds,
             bool tls = true) {
  auto* e = b.add_events();
  e->set_type("credential_use");
  e->mutable_time()->set_seconds(seconds);
  e->set_host(host);
  e->mutable_workload()->set_id(workload);
  e->mutable_credential()->set_fingerprint(kFp);
  e->mutable_credential()->set_type("openai");
  e->mutable_destination()->set_host("api.openai.com");
  e->mutable_destination()->set_tls(tls);
}

BatchRows rows(credtrace::v1::IngestBatch& b, uint64_t sequence) {
  b.set_agent_id("agent-1");
  b.set_sequence(sequence);
  BatchRows out;
  EXPECT_TRUE(build_batch_rows(b, 1, BatchLimits{}, out).ok());
  return out;
}

std::map<std::string, AlertSummary> alerts_by_kind(Store& store) {
  AlertPage page;
  EXPECT_TRUE(store.alerts(AlertFilter{}, page).ok());
  std::map<std::string, AlertSummary> out;
  for (auto& a : page.alerts) out[a.kind] = a;
  return out;
}

std::vector<int64_t> event_ids(Store& store) {
  EventPage page;
  EventFilter filter;
  filter.limit = 1000;
  EXPECT_TRUE(store.events(filter, page).ok());
  std::vector<int64_t> ids;
  for (auto& e : page.events) ids.insert(ids.begin(), e.id);
  return ids;  // ascending
}

void ingest(Store& store, const BatchRows& batch) {
  IngestOutcome out;
  Status s = store.ingest(batch, out);
  ASSERT_TRUE(s.ok()) << s.message();
}

}  // namespace

TEST(AlertStore, SharedKeyNamesTheFirstEventOfEachWorkload) {
  auto store = open_sqlite(temp_db("alerts"));
  credtrace::v1::IngestBatch b1, b2;
  add_use(b1, "wl-a", "host-1", 1000);
  add_use(b1, "wl-a", "host-1", 1001);
  ingest(*store, rows(b1, 1));
  EXPECT_TRUE(alerts_by_kind(*store).empty());
  add_use(b2, "wl-b", "host-1", 1002);
  ingest(*store, rows(b2, 2));
  ingest(*store, rows(b2, 2));  // a replay changes nothing
  auto alerts = alerts_by_kind(*store);
  ASSERT_EQ(alerts.size(), 1u);
  AlertSummary shared = alerts[kAlertSharedKey];
  auto ids = event_ids(*store);
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(shared.evidence, (std::vector<int64_t>{ids[0], ids[2]}));
  EXPECT_EQ(shared.fingerprint, kFp);
  EXPECT_EQ(shared.credential_type, "openai");
  EXPECT_EQ(shared.workloads, 2);
  EXPECT_EQ(shared.hosts, 1);
  credtrace::v1::IngestBatch b3;
  add_use(b3, "wl-a", "host-2", 1003);  // a second host adds its first event
  ingest(*store, rows(b3, 3));
  shared = alerts_by_kind(*store)[kAlertSharedKey];
  EXPECT_EQ(shared.evidence.size(), 3u);
  EXPECT_EQ(shared.hosts, 2);
}

TEST(AlertStore, LongLivedStaticCredentialAndReplays) {
  AlertConfig config;
  config.max_age_ns = 90 * kDay * 1'000'000'000LL;
  auto store = open_sqlite(temp_db("alerts"), config);
  int64_t t0 = 1'700'000'000;
  credtrace::v1::IngestBatch old_use, recent, later;
  add_use(old_use, "wl-a", "host-1", t0);
  ingest(*store, rows(old_use, 1));
  add_use(recent, "wl-a", "host-1", t0 + 89 * kDay);
  ingest(*store, rows(recent, 2));
  EXPECT_EQ(alerts_by_kind(*store).count(kAlertLongLived), 0u);
  add_use(later, "wl-a", "host-1", t0 + 91 * kDay);
  ingest(*store, rows(later, 3));
  ingest(*store, rows(later, 3));
  auto alerts = alerts_by_kind(*store);
  ASSERT_EQ(alerts.count(kAlertLongLived), 1u);
  auto ids = event_ids(*store);
  EXPECT_EQ(alerts[kAlertLongLived].evidence, (std::vector<int64_t>{ids[0], ids[2]}));
  EXPECT_EQ(alerts[kAlertLongLived].hits, 1);
  EXPECT_NE(alerts[kAlertLongLived].detail.find("\"age_days\":91"), std::string::npos);
}

TEST(AlertStore, EvidenceIsCappedHitsAreNot) {
  auto store = open_sqlite(temp_db("alerts"));
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    credtrace::v1::IngestBatch b;
    for (int i = 0; i < 40; ++i) add_use(b, "wl-a", "host-1", 1000 + i, /*tls=*/false);
    ingest(*store, rows(b, seq));
  }
  auto alerts = alerts_by_kind(*store);
  ASSERT_EQ(alerts.count(kAlertPlainHttp), 1u);
  EXPECT_EQ(alerts[kAlertPlainHttp].hits, 120);
  EXPECT_EQ(alerts[kAlertPlainHttp].evidence.size(), kMaxAlertEvidence);
  EXPECT_EQ(alerts[kAlertPlainHttp].evidence_total, static_cast<int64_t>(kMaxAlertEvidence));
  EXPECT_EQ(alerts[kAlertPlainHttp].subject, "api.openai.com");
}

TEST(AlertStore, PagingAndFilters) {
  auto store = open_sqlite(temp_db("alerts"));
  for (uint64_t seq = 1; seq <= 5; ++seq) {
    credtrace::v1::IngestBatch b;
    add_use(b, "wl-" + std::to_string(seq), "host-1", 1000, false);
    b.mutable_events(0)->mutable_destination()->set_host("h" + std::to_string(seq) + ".example");
    ingest(*store, rows(b, seq));
  }
  AlertFilter filter;
  filter.kind = kAlertPlainHttp;
  filter.limit = 2;
  std::vector<int64_t> seen;
  for (;;) {
    AlertPage page;
    ASSERT_TRUE(store->alerts(filter, page).ok());
    for (auto& a : page.alerts) seen.push_back(a.id);
    if (!page.next_before_id) break;
    filter.before_id = page.next_before_id;
  }
  EXPECT_EQ(seen.size(), 5u);
  AlertFilter shared;
  shared.kind = kAlertSharedKey;
  shared.workload = "wl-3";
  AlertPage page;
  ASSERT_TRUE(store->alerts(shared, page).ok());
  EXPECT_EQ(page.alerts.size(), 1u);
}

TEST(AlertStore, UpgradesAVersion1Database) {
  std::string path = temp_db("alerts");
  old_database(path, 1, [](SqlSession& session) {
    ASSERT_TRUE(session.run("INSERT INTO credential_links (fingerprint, kind, value, first_ns, last_ns, events, uses) "
                            "VALUES ($1, 'workload', 'wl-old', 1, 1, 1, 1)", {kFp}).ok());
  });
  auto store = open_sqlite(path);  // applies version 2 over the existing rows
  credtrace::v1::IngestBatch b;
  add_use(b, "wl-new", "host-1", 1000);
  ingest(*store, rows(b, 1));
  auto alerts = alerts_by_kind(*store);
  ASSERT_EQ(alerts.count(kAlertSharedKey), 1u);  // the old link has no first event: only the new one is evidence
  EXPECT_EQ(alerts[kAlertSharedKey].evidence, event_ids(*store));
  EXPECT_EQ(alerts[kAlertSharedKey].workloads, 2);
}
