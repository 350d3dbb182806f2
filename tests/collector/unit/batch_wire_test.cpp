// Unit tests of the IngestBatch wire scan and of events stored as received (no re-encoding unless normalised).
#include <gtest/gtest.h>

#include "ingest/batch_rows.h"
#include "ingest/batch_wire.h"

using namespace credtrace::collector;
using credtrace::v1::IngestBatch;

namespace {

const std::string kFp(64, 'a');

IngestBatch sample_batch() {
  IngestBatch batch;
  batch.set_agent_id("agent-1");
  batch.set_sequence(3);
  for (int i = 0; i < 3; ++i) {
    auto* e = batch.add_events();
    e->set_type("credential_use");
    e->set_agent_id("agent-1");
    e->mutable_time()->set_seconds(100 + i);
    e->mutable_workload()->set_id("wl-" + std::to_string(i));
    e->mutable_credential()->set_fingerprint(kFp);
  }
  batch.mutable_sent_at()->set_seconds(200);
  return batch;
}

}  // namespace

TEST(BatchWire, SlicesAreTheEncodedEventsInOrder) {
  IngestBatch batch = sample_batch();
  std::string wire = batch.SerializeAsString();
  std::vector<std::string_view> slices;
  ASSERT_TRUE(batch_event_slices(wire, slices));
  ASSERT_EQ(slices.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(slices[static_cast<size_t>(i)], batch.events(i).SerializeAsString());
}

TEST(BatchWire, RefusesBrokenWireFormat) {
  std::string wire = sample_batch().SerializeAsString();
  std::vector<std::string_view> slices;
  EXPECT_FALSE(batch_event_slices(wire.substr(0, wire.size() - 1), slices));  // truncated
  EXPECT_FALSE(batch_event_slices(std::string("\x1a\x05\x01", 3), slices));      // length past the end
  EXPECT_FALSE(batch_event_slices(std::string("\x1b", 1), slices));              // field 3 as a group
  EXPECT_FALSE(batch_event_slices(std::string("\x18\x01", 2), slices));          // field 3 as a varint
  EXPECT_TRUE(batch_event_slices("", slices));
  EXPECT_TRUE(slices.empty());
}

TEST(BatchWire, UnchangedEventsAreStoredAsReceived) {
  IngestBatch batch = sample_batch();
  batch.mutable_events(1)->clear_agent_id();                                       // filled in: re-encoded
  batch.mutable_events(2)->mutable_credential()->set_fingerprint(std::string(64, 'A'));  // lowercased: re-encoded
  // An unknown field (99, varint 7) appended to event 0 survives as received.
  std::string event0 = batch.events(0).SerializeAsString() + std::string("\x98\x06\x07", 3);
  std::string wire = batch.SerializeAsString();
  IngestBatch parsed;
  ASSERT_TRUE(parsed.ParseFromString(wire));
  parsed.mutable_events(0)->ParseFromString(event0);
  wire = parsed.SerializeAsString();
  ASSERT_TRUE(parsed.ParseFromString(wire));
  std::vector<std::string_view> slices;
  ASSERT_TRUE(batch_event_slices(wire, slices));
  BatchRows rows;
  ASSERT_TRUE(build_batch_rows(parsed, 0, BatchLimits{}, rows, &slices).ok());
  EXPECT_EQ(rows.events[0].payload, std::string(slices[0]));
  credtrace::v1::Event stored;
  ASSERT_TRUE(stored.ParseFromString(rows.events[1].payload));
  EXPECT_EQ(stored.agent_id(), "agent-1");
  ASSERT_TRUE(stored.ParseFromString(rows.events[2].payload));
  EXPECT_EQ(stored.credential().fingerprint(), kFp);
  // Without slices every event is re-encoded, with the same content.
  BatchRows reencoded;
  ASSERT_TRUE(parsed.ParseFromString(wire));
  ASSERT_TRUE(build_batch_rows(parsed, 0, BatchLimits{}, reencoded).ok());
  for (size_t i = 0; i < 3; ++i) {
    credtrace::v1::Event a, b;
    ASSERT_TRUE(a.ParseFromString(rows.events[i].payload));
    ASSERT_TRUE(b.ParseFromString(reencoded.events[i].payload));
    EXPECT_EQ(a.SerializeAsString(), b.SerializeAsString()) << i;
  }
}
