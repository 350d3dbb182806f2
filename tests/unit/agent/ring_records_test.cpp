// The ring reader's record walk on plain memory laid out as the kernel lays out a BPF ring buffer: records handed over
// whole and in order, one running past the end made contiguous, discarded ones skipped, a busy one waited for.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "loader/ring_reader.h"

namespace credtrace::loader {
namespace {

// A ring of kSize bytes and a producer that writes records as the kernel does (header, sample, 8-byte alignment).
class FakeRing {
 public:
  static constexpr size_t kSize = 256;
  uint8_t data[kSize] = {};
  uint64_t consumer = 0;
  uint64_t producer = 0;

  // Returns the record's position; busy/discard set the header's bits.
  uint64_t put(const std::string& sample, bool busy = false, bool discard = false) {
    const uint64_t at = producer;
    uint32_t len = static_cast<uint32_t>(sample.size());
    if (busy) len |= RingRecords::kBusyBit;
    if (discard) len |= RingRecords::kDiscardBit;
    std::memcpy(data + (at & (kSize - 1)), &len, sizeof(len));
    for (size_t i = 0; i < sample.size(); ++i) data[(at + RingRecords::kHeaderBytes + i) & (kSize - 1)] = static_cast<uint8_t>(sample[i]);
    producer += (RingRecords::kHeaderBytes + sample.size() + 7) & ~size_t{7};
    return at;
  }
  void commit(uint64_t at) {
    uint32_t len;
    std::memcpy(&len, data + (at & (kSize - 1)), sizeof(len));
    len &= ~RingRecords::kBusyBit;
    std::memcpy(data + (at & (kSize - 1)), &len, sizeof(len));
  }
};

struct Seen {
  std::vector<std::string> samples;
  static void on(void* ctx, const void* sample, size_t size) {
    static_cast<Seen*>(ctx)->samples.emplace_back(static_cast<const char*>(sample), size);
  }
};

TEST(RingRecords, HandsOverRecordsInOrderAndAdvancesTheConsumer) {
  FakeRing ring;
  RingRecords records(ring.data, FakeRing::kSize, &ring.consumer);
  ring.put("first");
  ring.put("second record");
  Seen seen;
  EXPECT_EQ(records.drain(ring.producer, &Seen::on, &seen), 2u);
  EXPECT_EQ(seen.samples, (std::vector<std::string>{"first", "second record"}));
  EXPECT_EQ(ring.consumer, ring.producer);
  EXPECT_EQ(records.drain(ring.producer, &Seen::on, &seen), 0u);
}

TEST(RingRecords, ARecordRunningPastTheEndIsMadeContiguous) {
  FakeRing ring;
  RingRecords records(ring.data, FakeRing::kSize, &ring.consumer);
  Seen seen;
  std::vector<std::string> expected;
  // Laps of the ring with samples of sizes that do not divide it: many records straddle its end.
  for (int i = 0; i < 200; ++i) {
    std::string sample(static_cast<size_t>(13 + (i * 7) % 60), static_cast<char>('a' + i % 26));
    sample += std::to_string(i);
    ring.put(sample);
    expected.push_back(sample);
    if (i % 3 == 2) records.drain(ring.producer, &Seen::on, &seen);
  }
  records.drain(ring.producer, &Seen::on, &seen);
  EXPECT_EQ(seen.samples, expected);
  EXPECT_GT(ring.producer, 20 * FakeRing::kSize);
}

TEST(RingRecords, ASampleEndingExactlyAtTheEndAndAnEmptyOne) {
  FakeRing ring;
  RingRecords records(ring.data, FakeRing::kSize, &ring.consumer);
  ring.put(std::string(FakeRing::kSize - RingRecords::kHeaderBytes, 'x'));  // the whole ring: ends at its end
  Seen seen;
  records.drain(ring.producer, &Seen::on, &seen);
  ring.put(std::string(FakeRing::kSize - 2 * RingRecords::kHeaderBytes, 'y'));
  ring.put("");  // the ring's last 8 bytes: a header with an empty sample
  records.drain(ring.producer, &Seen::on, &seen);
  ring.put("after the lap");
  records.drain(ring.producer, &Seen::on, &seen);
  ASSERT_EQ(seen.samples.size(), 4u);
  EXPECT_EQ(seen.samples[0], std::string(FakeRing::kSize - RingRecords::kHeaderBytes, 'x'));
  EXPECT_EQ(seen.samples[1], std::string(FakeRing::kSize - 2 * RingRecords::kHeaderBytes, 'y'));
  EXPECT_EQ(seen.samples[2], "");
  EXPECT_EQ(seen.samples[3], "after the lap");
}

TEST(RingRecords, DiscardedRecordsAreSkippedAndBusyOnesWaitedFor) {
  FakeRing ring;
  RingRecords records(ring.data, FakeRing::kSize, &ring.consumer);
  ring.put("kept");
  ring.put("discarded", false, true);
  const uint64_t busy = ring.put("still being written", true);
  ring.put("committed after the busy one");
  Seen seen;
  EXPECT_EQ(records.drain(ring.producer, &Seen::on, &seen), 1u);
  EXPECT_EQ(seen.samples, (std::vector<std::string>{"kept"}));
  EXPECT_EQ(ring.consumer, busy) << "the consumer must stop at the busy record";
  ring.commit(busy);
  EXPECT_EQ(records.drain(ring.producer, &Seen::on, &seen), 2u);
  EXPECT_EQ(seen.samples.back(), "committed after the busy one");
  EXPECT_EQ(ring.consumer, ring.producer);
}

}  // namespace
}  // namespace credtrace::loader
