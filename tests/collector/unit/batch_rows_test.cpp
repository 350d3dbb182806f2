// Unit tests of batch validation and aggregation into store rows.
#include <gtest/gtest.h>

#include "ingest/batch_rows.h"

using namespace credtrace::collector;
using credtrace::v1::IngestBatch;

namespace {

const std::string kFp(64, 'a');

credtrace::v1::Event* use_event(IngestBatch& batch, const std::string& fp, const std::string& workload, int count,
                                int64_t seconds) {
  auto* e = batch.add_events();
  e->set_type("credential_use");
  e->mutable_time()->set_seconds(seconds);
  e->set_host("host-1");
  e->mutable_workload()->set_id(workload);
  e->mutable_workload()->mutable_mcp()->set_server_name("github");
  e->mutable_credential()->set_fingerprint(fp);
  e->mutable_credential()->set_type("github_pat");
  e->mutable_credential()->set_preview("ghp_…abcd");
  e->mutable_destination()->set_host("api.github.com");
  e->mutable_destination()->set_port(443);
  e->mutable_destination()->set_tls(true);
  auto* s = e->add_sources();
  s->set_kind("env");
  s->set_name("GITHUB_TOKEN");
  e->mutable_credential_use()->set_count(count);
  return e;
}

}  // namespace

TEST(BatchRows, AggregatesCredentialsLinksAndWorkloads) {
  IngestBatch batch;
  batch.set_agent_id("agent-1");
  batch.set_sequence(7);
  use_event(batch, kFp, "wl-a", 3, 100);
  use_event(batch, kFp, "wl-b", 2, 200);
  batch.add_events()->set_type("agent_health");
  BatchRows rows;
  ASSERT_TRUE(build_batch_rows(batch, 5, BatchLimits{}, rows).ok());
  ASSERT_EQ(rows.events.size(), 3u);
  EXPECT_EQ(rows.events[0].agent_id, "agent-1");  // filled from the batch
  EXPECT_EQ(rows.events[2].time_ns, 5);            // no time: received time
  ASSERT_EQ(rows.credentials.size(), 1u);
  EXPECT_EQ(rows.credentials[0].uses, 5);
  EXPECT_EQ(rows.credentials[0].events, 2);
  EXPECT_EQ(rows.credentials[0].first_ns, 100'000'000'000);
  EXPECT_EQ(rows.credentials[0].last_ns, 200'000'000'000);
  int workloads = 0, destinations = 0, sources = 0;
  for (const auto& link : rows.links) {
    workloads += link.kind == kLinkWorkload;
    destinations += link.kind == kLinkDestination;
    sources += link.kind == kLinkSource;
    if (link.kind == kLinkDestination) {
      EXPECT_EQ(link.value, R"({"host":"api.github.com","port":443,"tls":true})");
    }
    if (link.kind == kLinkSource) {
      EXPECT_EQ(link.value, R"({"kind":"env","name":"GITHUB_TOKEN"})");
    }
  }
  EXPECT_EQ(workloads, 2);
  EXPECT_EQ(destinations, 1);
  EXPECT_EQ(sources, 1);
  EXPECT_EQ(rows.workloads.size(), 2u);
}

TEST(BatchRows, FactsCarryTheWorkloadsHumanNamesForAllowLists) {
  IngestBatch batch;
  batch.set_agent_id("agent-1");
  batch.set_sequence(1);
  auto* e = use_event(batch, kFp, "wl-a", 1, 100);
  e->mutable_workload()->mutable_systemd()->set_unit("github-mcp.service");
  e->mutable_workload()->mutable_kubernetes()->set_namespace_("prod");
  e->mutable_workload()->mutable_kubernetes()->set_pod("github-mcp-7f9c");
  BatchRows rows;
  ASSERT_TRUE(build_batch_rows(batch, 5, BatchLimits{}, rows).ok());
  EXPECT_EQ(rows.events[0].facts.workload_names,
            (std::vector<std::string>{"github", "github-mcp.service", "prod/github-mcp-7f9c", "github-mcp-7f9c"}));
}

TEST(BatchRows, RejectsRawValuesAndBadIdentity) {
  BatchRows rows;
  IngestBatch no_agent;
  EXPECT_FALSE(build_batch_rows(no_agent, 0, BatchLimits{}, rows).ok());

  IngestBatch raw;
  raw.set_agent_id("agent-1");
  use_event(raw, "ghp_rawsecretvalue", "wl", 1, 1);
  Status s = build_batch_rows(raw, 0, BatchLimits{}, rows);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("event 0"), std::string::npos);

  IngestBatch long_preview;
  long_preview.set_agent_id("agent-1");
  use_event(long_preview, kFp, "wl", 1, 1)->mutable_credential()->set_preview(std::string(80, 'p'));
  EXPECT_FALSE(build_batch_rows(long_preview, 0, BatchLimits{}, rows).ok());

  IngestBatch other_agent;
  other_agent.set_agent_id("agent-1");
  use_event(other_agent, kFp, "wl", 1, 1)->set_agent_id("agent-2");
  EXPECT_FALSE(build_batch_rows(other_agent, 0, BatchLimits{}, rows).ok());

  IngestBatch too_many;
  too_many.set_agent_id("agent-1");
  for (int i = 0; i < 3; ++i) too_many.add_events()->set_type("agent_health");
  EXPECT_FALSE(build_batch_rows(too_many, 0, BatchLimits{2}, rows).ok());
}

TEST(BatchRows, UppercaseFingerprintIsNormalised) {
  IngestBatch batch;
  batch.set_agent_id("agent-1");
  use_event(batch, std::string(64, 'A'), "wl", 1, 1);
  BatchRows rows;
  ASSERT_TRUE(build_batch_rows(batch, 0, BatchLimits{}, rows).ok());
  EXPECT_EQ(rows.credentials[0].fingerprint, kFp);
}

namespace {

credtrace::v1::Event* tls_event(IngestBatch& batch, const std::string& type, const std::string& coverage,
                                int64_t seconds) {
  auto* e = batch.add_events();
  e->set_type(type);
  e->mutable_time()->set_seconds(seconds);
  e->mutable_workload()->set_id("wl-a");
  e->mutable_workload()->set_tls_coverage(coverage);
  auto* openssl = e->mutable_workload()->add_tls();
  openssl->set_implementation("openssl");
  openssl->set_file("/usr/lib/x86_64-linux-gnu/libssl.so.3");
  openssl->set_probed(true);
  openssl->add_probes("SSL_write");
  return e;
}

}  // namespace

TEST(BatchRows, WorkloadTlsStateComesFromTheLatestTlsReportOnly) {
  IngestBatch batch;
  batch.set_agent_id("agent-1");
  tls_event(batch, "tls_coverage", "partial", 300);
  tls_event(batch, "mcp_server_start", "covered", 200);  // older, though later in the batch
  tls_event(batch, "credential_use", "covered", 400);    // a newer event, but its Workload may be a stale copy
  BatchRows rows;
  ASSERT_TRUE(build_batch_rows(batch, 0, BatchLimits{}, rows).ok());
  ASSERT_EQ(rows.workloads.size(), 1u);
  const WorkloadDelta& w = rows.workloads[0];
  EXPECT_EQ(w.tls_coverage, kTlsPartial);
  EXPECT_EQ(w.tls_ns, 300'000'000'000);
  credtrace::v1::TlsCoverage state;
  ASSERT_TRUE(state.ParseFromString(w.tls));
  EXPECT_EQ(state.tls_coverage(), "partial");
  ASSERT_EQ(state.tls_size(), 1);
  EXPECT_EQ(state.tls(0).implementation(), "openssl");
  EXPECT_TRUE(state.tls(0).probed());
  EXPECT_EQ(state.tls(0).probes_size(), 0);  // probe points are not stored
  EXPECT_EQ(w.last_ns, 400'000'000'000);
}

TEST(BatchRows, BatchWithoutTlsReportLeavesTheStateUnset) {
  IngestBatch batch;
  batch.set_agent_id("agent-1");
  tls_event(batch, "credential_use", "covered", 100);
  BatchRows rows;
  ASSERT_TRUE(build_batch_rows(batch, 0, BatchLimits{}, rows).ok());
  ASSERT_EQ(rows.workloads.size(), 1u);
  EXPECT_EQ(rows.workloads[0].tls_ns, 0);
  EXPECT_TRUE(rows.workloads[0].tls.empty());
  EXPECT_TRUE(rows.workloads[0].tls_coverage.empty());
}

// An agent that could not examine a server (gone first) says "unknown": stored as no status, which the query API and
// its filter read as unknown.
TEST(BatchRows, AnUnknownTlsStatusIsStoredAsNone) {
  IngestBatch batch;
  batch.set_agent_id("agent-1");
  tls_event(batch, "mcp_server_start", "unknown", 100);
  BatchRows rows;
  ASSERT_TRUE(build_batch_rows(batch, 0, BatchLimits{}, rows).ok());
  ASSERT_EQ(rows.workloads.size(), 1u);
  EXPECT_GT(rows.workloads[0].tls_ns, 0);  // the latest report, though it says unknown
  EXPECT_TRUE(rows.workloads[0].tls_coverage.empty());
}
