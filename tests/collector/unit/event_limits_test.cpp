// Unit tests of the ingest bounds: the same verdicts and paths whether an event is small (only its timestamps and
// numbers walked) or large (every field walked), cuts named in truncated_fields, forged ones dropped.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include "ingest/event_limits.h"

using namespace credtrace::collector;
using credtrace::v1::Event;
using credtrace::v1::IngestBatch;

namespace {

constexpr int64_t kNowNs = 1'750'000'000LL * 1'000'000'000LL;

Event base_event() {
  Event e;
  e.set_type("mcp_tool_call");
  e.set_agent_id("agent-1");
  e.mutable_time()->set_seconds(kNowNs / 1'000'000'000 - 10);
  return e;
}

// The verdict of bound_batch on one event, small as given or padded past every size below which nothing is cut.
std::string verdict(const std::function<void(Event&)>& shape, bool large, BoundedBatch* out = nullptr) {
  IngestBatch batch;
  Event& e = *batch.add_events();
  e = base_event();
  shape(e);
  if (large) e.mutable_process()->set_exe(std::string(20000, 'x'));  // over 16 KiB, under the 64 KiB string limit
  BoundedBatch bounded;
  Status s = bound_batch(batch, EventLimits{}, kNowNs, bounded);
  if (out) *out = bounded;
  return s.ok() ? "ok" : s.message();
}

void expect_both(const std::function<void(Event&)>& shape, const std::string& expected) {
  EXPECT_EQ(verdict(shape, false), expected);
  EXPECT_EQ(verdict(shape, true), expected);
}

TEST(EventLimits, ObservationTimesAreCheckedInNestedAndRepeatedMessages) {
  expect_both([](Event&) {}, "ok");
  expect_both([](Event& e) { e.mutable_time()->set_seconds(1); },
              "event 0: time: seconds 1 outside 2000-01-01 .. the collector's now + 86400 s");
  expect_both(
      [](Event& e) {
        auto* call = e.mutable_mcp_tool_call();
        call->add_downstream()->mutable_time()->set_seconds(kNowNs / 1'000'000'000);
        call->add_downstream()->mutable_time()->set_seconds(kNowNs / 1'000'000'000 + 3 * 86400);
      },
      "event 0: mcp_tool_call.downstream[1].time: seconds " + std::to_string(kNowNs / 1'000'000'000 + 3 * 86400) +
          " outside 2000-01-01 .. the collector's now + 86400 s");
  expect_both([](Event& e) { e.mutable_credential_use()->mutable_last_seen()->set_nanos(-1); },
              "event 0: credential_use.last_seen: nanos -1 outside 0..999999999");
}

TEST(EventLimits, JwtClaimsAreTimestampsNotObservations) {
  expect_both([](Event& e) { e.mutable_credential()->mutable_jwt()->mutable_exp()->set_seconds(95617584000); }, "ok");
  expect_both(
      [](Event& e) {
        auto* downstream = e.mutable_mcp_tool_call()->add_downstream();
        downstream->mutable_credential()->mutable_jwt()->mutable_iat()->set_seconds(-62135596801);
      },
      "event 0: mcp_tool_call.downstream[0].credential.jwt.iat: seconds -62135596801 outside the years 1 .. 9999");
}

TEST(EventLimits, NumbersMustBeFinite) {
  expect_both([](Event& e) { e.mutable_agent_health()->set_uptime_seconds(std::nan("")); },
              "event 0: agent_health.uptime_seconds: not a finite number");
  expect_both(
      [](Event& e) {
        e.mutable_mcp_server_exit()->set_duration_seconds(std::numeric_limits<double>::infinity());
      },
      "event 0: mcp_server_exit.duration_seconds: not a finite number");
  expect_both([](Event& e) { e.mutable_mcp_tool_call()->set_duration_seconds(0.25); }, "ok");
}

TEST(EventLimits, ForgedTruncatedFieldsAreDroppedFromSmallEvents) {
  BoundedBatch out;
  EXPECT_EQ(verdict([](Event& e) { e.add_truncated_fields("nothing"); }, false, &out), "ok");
  EXPECT_EQ(out.changed, 1u);
  EXPECT_EQ(out.truncated, 0u);
  EXPECT_EQ(verdict([](Event&) {}, false, &out), "ok");
  EXPECT_EQ(out.changed, 0u);
}

TEST(EventLimits, LongStringsAndRepeatedFieldsAreCutAndNamed) {
  IngestBatch batch;
  Event& e = *batch.add_events();
  e = base_event();
  e.set_host(std::string(70000, 'h'));
  for (const std::string arg(1, 'a'); e.process().args_size() < 20;) e.mutable_process()->add_args(arg);
  EventLimits limits;
  limits.max_repeated_entries = 16;
  BoundedBatch out;
  ASSERT_TRUE(bound_batch(batch, limits, kNowNs, out).ok());
  EXPECT_EQ(out.truncated, 1u);
  EXPECT_EQ(e.host().size(), limits.max_string_bytes);
  EXPECT_EQ(e.process().args_size(), 16);
  ASSERT_EQ(e.truncated_fields_size(), 2);
  EXPECT_EQ(e.truncated_fields(0), "host");
  EXPECT_EQ(e.truncated_fields(1), "process.args[]");
}

TEST(EventLimits, ManyEntriesInASmallEventAreCutUnderLowLimits) {
  IngestBatch batch;
  Event& e = *batch.add_events();
  e = base_event();
  // ~60 bytes: over a limit of 16 entries
  for (const std::string arg(1, 'a'); e.process().args_size() < 20;) e.mutable_process()->add_args(arg);
  EventLimits limits;
  limits.max_repeated_entries = 16;
  limits.max_string_bytes = 256;
  BoundedBatch out;
  ASSERT_TRUE(bound_batch(batch, limits, kNowNs, out).ok());
  EXPECT_EQ(e.process().args_size(), 16);
  EXPECT_EQ(out.truncated, 1u);
}

TEST(EventLimits, OversizedEventsAreRefused) {
  IngestBatch batch;
  Event& e = *batch.add_events();
  e = base_event();
  for (int i = 0; i < 40; ++i) e.mutable_process()->add_args(std::string(60000, 'a'));
  BoundedBatch out;
  Status s = bound_batch(batch, EventLimits{}, kNowNs, out);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("event 0: "), std::string::npos);
  EXPECT_NE(s.message().find("bytes encoded, limit 1048576"), std::string::npos);
}

TEST(EventLimits, BatchSentAtIsAnObservation) {
  IngestBatch batch;
  batch.mutable_sent_at()->set_nanos(1000000000);
  BoundedBatch out;
  Status s = bound_batch(batch, EventLimits{}, kNowNs, out);
  EXPECT_EQ(s.message(), "batch: sent_at: nanos 1000000000 outside 0..999999999");
}

}  // namespace
