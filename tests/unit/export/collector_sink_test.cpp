// Tests for the collector sink against a fake collector on loopback: batching and sequence order, retries of
// server errors, permanent rejections, outage → spool → restart replay, final send at shutdown, health counters.
#include "export/collector_sink.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "fake_collector.h"
#include "logging/log.h"

namespace credtrace::exporter {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using testing::FakeCollector;

credtrace::v1::Event event(int i) {
  credtrace::v1::Event e;
  e.set_type("credential_use");
  e.set_agent_id("agt_test");
  e.mutable_workload()->set_id("wl_" + std::to_string(i));
  return e;
}

template <typename Pred>
bool eventually(Pred pred, milliseconds timeout = milliseconds(10000)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return pred();
}

class CollectorSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "credtrace-sink-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    log::Options capture;
    capture.component = "collector-sink-test";
    capture.writer = [this](std::string_view line) { logs_.emplace_back(line); };  // under the sink's mutex
    log::configure(std::move(capture));
  }
  void TearDown() override {
    log::configure(log::Options{});
    fs::remove_all(root_);
  }

  CollectorSinkOptions options(const std::string& url) {
    CollectorSinkOptions o;
    o.endpoint.url = url;
    o.endpoint.token = "test-token";
    o.agent_id = "agt_test";
    o.spool_dir = (root_ / "spool").string();
    o.batch = {10, 1 << 20, milliseconds(50)};
    o.retry_initial = milliseconds(20);
    o.retry_max = milliseconds(100);
    o.send_timeout = milliseconds(3000);
    o.final_send_deadline = milliseconds(2000);
    return o;
  }
  std::unique_ptr<CollectorSink> start(CollectorSinkOptions o) {
    std::string error;
    auto sink = CollectorSink::start(std::move(o), &error);
    EXPECT_NE(sink, nullptr) << error;
    return sink;
  }
  size_t spool_files() const {
    size_t n = 0;
    for (const auto& entry : fs::directory_iterator(root_ / "spool"))
      if (entry.path().extension() == ".batch") ++n;
    return n;
  }

  fs::path root_;
  std::vector<std::string> logs_;  // the logger's lines, written by the sink threads; read after shutdown only
};

// n sequences in a row, from the first one received (a new spool starts at a time-based sequence).
std::vector<uint64_t> consecutive(const std::vector<uint64_t>& got, uint64_t n) {
  std::vector<uint64_t> out;
  for (uint64_t i = 0; i < n && !got.empty(); ++i) out.push_back(got[0] + i);
  return out;
}

TEST_F(CollectorSinkTest, DeliversBatchesInSequenceOrderWithTheToken) {
  FakeCollector collector;
  auto sink = start(options(collector.url()));
  for (int i = 0; i < 35; ++i) sink->write(event(i));
  ASSERT_TRUE(eventually([&] { return collector.stored_events() == 35; }));
  EXPECT_EQ(collector.stored_sequences(), consecutive(collector.stored_sequences(), 4));
  for (const auto& r : collector.received()) {
    EXPECT_EQ(r.authorization, "Bearer test-token");
    EXPECT_EQ(r.content_encoding, "deflate");
    EXPECT_EQ(r.batch.agent_id(), "agt_test");
    EXPECT_LE(r.batch.events_size(), 10);
  }
  ASSERT_TRUE(eventually([&] { return sink->stats().batches_sent == 4; }));
  EXPECT_EQ(sink->stats().spool_batches, 0u);
  EXPECT_EQ(spool_files(), 0u);
  EXPECT_EQ(collector.received()[0].batch.events(0).workload().id(), "wl_0");
}

TEST_F(CollectorSinkTest, RetriesServerErrorsUntilAcknowledged) {
  FakeCollector collector([](size_t n, const auto&) { return n < 2 ? 503 : n == 2 ? 429 : 200; });
  auto sink = start(options(collector.url()));
  for (int i = 0; i < 5; ++i) sink->write(event(i));
  ASSERT_TRUE(eventually([&] { return collector.stored_events() == 5; }));
  EXPECT_EQ(collector.stored_sequences().size(), 1u);
  EXPECT_EQ(sink->stats().send_failures, 3u);
  EXPECT_EQ(sink->stats().batches_dropped, 0u);
  std::vector<int> statuses;
  for (const auto& r : collector.received()) statuses.push_back(r.status);
  EXPECT_EQ(statuses, (std::vector<int>{503, 503, 429, 200}));
}

TEST_F(CollectorSinkTest, ARejectedBatchIsDroppedCountedAndTheNextOneStillGoes) {
  FakeCollector collector([](size_t n, const auto&) { return n == 0 ? 400 : 200; });
  auto sink = start(options(collector.url()));
  for (int i = 0; i < 10; ++i) sink->write(event(i));  // a full batch: sequence 1
  ASSERT_TRUE(eventually([&] { return sink->stats().batches_rejected == 1; }));
  sink->write(event(10));
  ASSERT_TRUE(eventually([&] { return collector.stored_events() == 1; }));
  EXPECT_EQ(collector.stored_sequences(), (std::vector<uint64_t>{collector.received()[0].batch.sequence() + 1}));
  EXPECT_EQ(sink->stats().batches_dropped, 1u);
  sink->shutdown();
  bool logged = false;
  const std::string rejected = "rejected batch " + std::to_string(collector.received()[0].batch.sequence());
  for (const auto& line : logs_) logged |= line.find(rejected) != std::string::npos;
  EXPECT_TRUE(logged);
}

TEST_F(CollectorSinkTest, AnOutageIsSpooledAndReplayedInOrderAfterARestart) {
  uint16_t port;
  {
    FakeCollector gone;  // reserves a port, then nobody listens there
    port = gone.port();
  }
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  {
    auto sink = start(options(url));
    for (int i = 0; i < 25; ++i) sink->write(event(i));
    ASSERT_TRUE(eventually([&] { return sink->stats().send_failures >= 2 && sink->stats().spool_batches == 3; }));
    for (int i = 25; i < 28; ++i) sink->write(event(i));  // still queued at shutdown: spooled, not lost
  }
  EXPECT_EQ(spool_files(), 4u);
  FakeCollector collector(nullptr, port);
  auto sink = start(options(url));
  ASSERT_TRUE(eventually([&] { return collector.stored_events() == 28; }));
  sink->write(event(28));
  ASSERT_TRUE(eventually([&] { return collector.stored_events() == 29; }));
  EXPECT_EQ(collector.stored_sequences(), consecutive(collector.stored_sequences(), 5));  // replayed oldest first, then the sequence continues
  auto received = collector.received();
  EXPECT_EQ(received.front().batch.events(0).workload().id(), "wl_0");
  EXPECT_EQ(received.back().batch.events(0).workload().id(), "wl_28");
}

TEST_F(CollectorSinkTest, ShutdownSpoolsQueuedEventsAndMakesAFinalSend) {
  FakeCollector collector;
  auto o = options(collector.url());
  o.batch.max_age = milliseconds(60000);  // nothing would be sent before shutdown otherwise
  auto sink = start(o);
  for (int i = 0; i < 5; ++i) sink->write(event(i));
  sink->shutdown();
  EXPECT_EQ(collector.stored_events(), 5u);
  EXPECT_EQ(spool_files(), 0u);
  sink->write(event(6));  // after shutdown: counted, never silently lost
  EXPECT_EQ(sink->stats().events_dropped, 1u);
}

TEST_F(CollectorSinkTest, AFullSpoolDropsTheOldestAndCountsThem) {
  auto o = options("http://127.0.0.1:9");  // discard port: nothing listens
  o.spool_max_bytes = 64 << 10;
  o.batch = {1, 1 << 20, milliseconds(1)};
  o.retry_initial = milliseconds(5000);
  auto sink = start(o);
  credtrace::v1::Event big = event(0);
  std::string noise;
  uint64_t state = 88172645463325252ull;
  for (int i = 0; i < 20000; ++i) {  // xorshift letters: compresses poorly
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    noise += static_cast<char>('a' + state % 26);
  }
  big.mutable_workload()->set_exe(noise);
  for (int i = 0; i < 12; ++i) sink->write(big);
  ASSERT_TRUE(eventually([&] {
    auto s = sink->stats();
    return s.batches_dropped > 0 && s.spool_batches + s.batches_dropped == 12;
  })) << sink->stats().spool_batches << " held, " << sink->stats().batches_dropped << " dropped";
  EXPECT_LE(sink->stats().spool_bytes, 64u << 10);
  google::protobuf::Map<std::string, uint64_t> counters;
  sink->report(counters);
  EXPECT_EQ(counters["collector_batches_dropped"], sink->stats().batches_dropped);
  for (const char* key : {"collector_batches_sent", "collector_send_failures", "collector_spool_bytes"})
    EXPECT_TRUE(counters.count(key)) << key;
}

TEST_F(CollectorSinkTest, RefusesPlainHttpToARemoteHost) {
  std::string error;
  EXPECT_EQ(CollectorSink::start(options("http://collector.example:8787"), &error), nullptr);
  EXPECT_NE(error.find("https"), std::string::npos);
}

}  // namespace
}  // namespace credtrace::exporter

namespace credtrace::exporter {
namespace {

TEST(CollectorSinkConfig, TheCollectorSectionIsParsedStrictly) {
  auto loaded = config::load_config_text(
      "state_dir: /var/lib/ct\ncollector:\n  url: https://c.example:8787\n  token_file: /etc/ct/token\n"
      "  batch_max_events: 200\n  flush_interval_ms: 250\n  spool_max_bytes: 1048576\n  retry_initial_ms: 10\n"
      "  retry_max_ms: 20\n",
      "t.yaml");
  ASSERT_TRUE(loaded.config) << loaded.error;
  EXPECT_EQ(loaded.config->collector.url, "https://c.example:8787");
  EXPECT_EQ(loaded.config->collector.batch_max_events, 200u);
  EXPECT_EQ(loaded.config->collector.spool_max_bytes, 1048576u);
  EXPECT_EQ(config::collector_spool_dir(*loaded.config), "/var/lib/ct/spool");

  auto unknown = config::load_config_text("collector:\n  url: https://c\n  tokenfile: x\n", "t.yaml");
  EXPECT_FALSE(unknown.config);
  EXPECT_EQ(unknown.error.rfind("t.yaml:3:3: unknown key 'collector.tokenfile'", 0), 0u) << unknown.error;
  auto half_mtls = config::load_config_text("collector:\n  url: https://c\n  cert_file: /c.pem\n", "t.yaml");
  EXPECT_NE(half_mtls.error.find("cert_file and key_file must be given together"), std::string::npos);
  auto scheme = config::load_config_text("collector:\n  url: ftp://c\n", "t.yaml");
  EXPECT_EQ(scheme.error.rfind("t.yaml:2:8: collector.url", 0), 0u) << scheme.error;
}

TEST(CollectorSinkConfig, OptionsReadTheTokenFileTrimmed) {
  std::string dir = (std::filesystem::temp_directory_path() / "credtrace-token-XXXXXX").string();
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  std::ofstream(dir + "/token") << "  s3cr3t-token\n\n";
  std::ofstream(dir + "/two") << "a\nb\n";
  config::AgentConfig cfg = config::default_config();
  cfg.state_dir = dir;
  cfg.collector.url = "https://c.example";
  cfg.collector.token_file = dir + "/token";
  std::string error;
  auto options = collector_sink_options(cfg, "agt_1", &error);
  ASSERT_TRUE(options) << error;
  EXPECT_EQ(options->endpoint.token, "s3cr3t-token");
  EXPECT_EQ(options->spool_dir, dir + "/spool");
  cfg.collector.token_file = dir + "/two";
  EXPECT_FALSE(collector_sink_options(cfg, "agt_1", &error));
  EXPECT_EQ(error.find("s3cr3t"), std::string::npos);
  cfg.collector.token_file = dir + "/missing";
  EXPECT_FALSE(collector_sink_options(cfg, "agt_1", &error));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace credtrace::exporter
