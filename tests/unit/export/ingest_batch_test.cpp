// Tests for collector batching (count, size and age limits) and the compressed IngestBatch encoding; also the
// retry backoff and the reply classification of the collector client.
#include "export/ingest_batch.h"

#include <gtest/gtest.h>

#include "export/backoff.h"
#include "export/collector_client.h"

namespace credtrace::exporter {
namespace {

using Clock = EventBatcher::Clock;
using std::chrono::milliseconds;

credtrace::v1::Event event(int i, size_t padding = 0) {
  credtrace::v1::Event e;
  e.set_type("credential_use");
  e.set_host("h1");
  e.set_agent_id("agt_1");
  e.mutable_workload()->set_id("wl_" + std::to_string(i) + std::string(padding, 'p'));
  return e;
}

TEST(EventBatcher, SplitsByCount) {
  EventBatcher batcher({3, 1 << 20, milliseconds(1000)});
  const auto t0 = Clock::now();
  for (int i = 0; i < 7; ++i) batcher.add(event(i), t0);
  EXPECT_TRUE(batcher.ready(t0));
  EXPECT_EQ(batcher.take().size(), 3u);
  EXPECT_EQ(batcher.take().size(), 3u);
  EXPECT_FALSE(batcher.ready(t0));  // one event, young
  auto last = batcher.take();
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].workload().id(), "wl_6");  // oldest first
  EXPECT_TRUE(batcher.empty());
  EXPECT_EQ(batcher.bytes(), 0u);
}

TEST(EventBatcher, SplitsBySizeAndAnOversizedEventGoesAlone) {
  EventBatcher batcher({1000, 2048, milliseconds(1000)});
  const auto t0 = Clock::now();
  for (int i = 0; i < 4; ++i) batcher.add(event(i, 900), t0);
  batcher.add(event(9, 5000), t0);
  EXPECT_TRUE(batcher.ready(t0));
  EXPECT_EQ(batcher.take().size(), 2u);
  EXPECT_EQ(batcher.take().size(), 2u);
  EXPECT_EQ(batcher.take().size(), 1u);
  EXPECT_TRUE(batcher.take().empty());
}

TEST(EventBatcher, ReadyWhenTheOldestEventReachesTheFlushInterval) {
  EventBatcher batcher({1000, 1 << 20, milliseconds(500)});
  const auto t0 = Clock::now();
  EXPECT_FALSE(batcher.deadline().has_value());
  batcher.add(event(1), t0);
  batcher.add(event(2), t0 + milliseconds(400));
  EXPECT_EQ(*batcher.deadline(), t0 + milliseconds(500));
  EXPECT_FALSE(batcher.ready(t0 + milliseconds(499)));
  EXPECT_TRUE(batcher.ready(t0 + milliseconds(500)));
  EXPECT_EQ(batcher.take().size(), 2u);
}

TEST(EncodeBatch, RoundTripsCompressed) {
  std::vector<credtrace::v1::Event> events;
  for (int i = 0; i < 50; ++i) events.push_back(event(i, 200));
  std::string body = encode_batch("agt_1", 42, events);
  ASSERT_FALSE(body.empty());
  EXPECT_LT(body.size(), 50u * 200 / 4);  // repetitive events compress well
  EXPECT_EQ(static_cast<unsigned char>(body[0]), 0x78);  // a zlib stream (Content-Encoding: deflate)
  credtrace::v1::IngestBatch batch;
  ASSERT_TRUE(decode_batch(body, batch));
  EXPECT_EQ(batch.agent_id(), "agt_1");
  EXPECT_EQ(batch.sequence(), 42u);
  EXPECT_GT(batch.sent_at().seconds(), 1700000000);
  ASSERT_EQ(batch.events_size(), 50);
  EXPECT_EQ(batch.events(7).workload().id(), events[7].workload().id());
  EXPECT_FALSE(decode_batch("not zlib", batch));
}

TEST(Backoff, FullJitterUnderAnExponentialCeilingCappedAtMax) {
  Backoff backoff(milliseconds(100), milliseconds(1000), 7);
  const int64_t ceilings[] = {100, 200, 400, 800, 1000, 1000, 1000};
  for (int64_t ceiling : ceilings) {
    auto delay = backoff.next();
    EXPECT_GE(delay.count(), 0);
    EXPECT_LE(delay.count(), ceiling);
  }
  backoff.reset();
  EXPECT_EQ(backoff.failures(), 0u);
  int64_t max_seen = 0;
  for (int i = 0; i < 200; ++i) {
    Backoff fresh(milliseconds(100), milliseconds(1000), static_cast<uint64_t>(i));
    max_seen = std::max<int64_t>(max_seen, fresh.next().count());
  }
  EXPECT_LE(max_seen, 100);
  EXPECT_GT(max_seen, 50);  // jitter spreads over the whole range
}

TEST(CollectorClient, ClassifiesReplies) {
  EXPECT_EQ(classify_status(200), SendOutcome::kAcked);
  for (long status : {0L, 408L, 429L, 500L, 502L, 503L, 504L, 401L, 403L, 302L})
    EXPECT_EQ(classify_status(status), SendOutcome::kRetry) << status;
  for (long status : {400L, 404L, 405L, 413L, 415L, 422L})
    EXPECT_EQ(classify_status(status), SendOutcome::kRejected) << status;
}

TEST(CollectorClient, IngestUrl) {
  std::string error;
  EXPECT_EQ(ingest_url("https://collector.example:8787", &error), "https://collector.example:8787/v1/ingest");
  EXPECT_EQ(ingest_url("https://c.example/v1/ingest", &error), "https://c.example/v1/ingest");
  EXPECT_EQ(ingest_url("http://127.0.0.1:9/", &error), "http://127.0.0.1:9/v1/ingest");
  EXPECT_EQ(ingest_url("http://localhost:9", &error), "http://localhost:9/v1/ingest");
  EXPECT_EQ(ingest_url("http://[::1]:9", &error), "http://[::1]:9/v1/ingest");
  EXPECT_EQ(ingest_url("http://collector.example:8787", &error), "");
  EXPECT_NE(error.find("plain http"), std::string::npos);
  EXPECT_EQ(ingest_url("http://127.0.0.1.evil.example:80", &error), "");
  EXPECT_EQ(ingest_url("ftp://127.0.0.1", &error), "");
  EXPECT_EQ(ingest_url("collector:8787", &error), "");
}

TEST(CollectorClient, NeedsATokenOrACertificateAndBothHalvesOfOne) {
  std::string error;
  EXPECT_EQ(CollectorClient::create({"https://c.example", "", "", "", "", milliseconds(1000)}, &error), nullptr);
  EXPECT_EQ(CollectorClient::create({"https://c.example", "t", "", "/x.pem", "", milliseconds(1000)}, &error), nullptr);
  EXPECT_NE(CollectorClient::create({"https://c.example", "t", "", "", "", milliseconds(1000)}, &error), nullptr);
}

}  // namespace
}  // namespace credtrace::exporter
