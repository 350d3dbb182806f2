// Unit tests of GroupCommit: grouping of queued batches, one outcome per submitter, the event cap, writer errors.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "store/sqlite/group_commit.h"

using namespace credtrace::collector;

namespace {

BatchRows rows_of(uint64_t sequence, size_t events) {
  BatchRows rows;
  rows.agent_id = "agent";
  rows.sequence = sequence;
  rows.events.resize(events);
  return rows;
}

// A writer that records each group's sequences and holds the first group until released.
struct RecordingWriter {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::vector<uint64_t>> groups;
  bool first_started = false, release = false;

  void write(std::vector<IngestJob*>& group) {
    std::unique_lock lock(mutex);
    std::vector<uint64_t> sequences;
    for (IngestJob* job : group) {
      sequences.push_back(job->batch->sequence);
      job->outcome.accepted = job->batch->sequence * 10;
      job->status = job->batch->sequence == 13 ? Status::error("batch 13 fails") : Status();
    }
    groups.push_back(sequences);
    first_started = true;
    changed.notify_all();
    changed.wait(lock, [&] { return release; });
  }
};

}  // namespace

TEST(GroupCommit, QueuedBatchesShareTheNextGroup) {
  RecordingWriter writer;
  GroupCommit commit([&](std::vector<IngestJob*>& g) { writer.write(g); }, 1000);
  std::vector<BatchRows> batches;
  for (uint64_t s = 10; s < 15; ++s) batches.push_back(rows_of(s, 100));
  std::vector<IngestOutcome> outcomes(batches.size());
  std::vector<Status> statuses(batches.size());
  std::vector<std::thread> threads;
  threads.emplace_back([&] { statuses[0] = commit.submit(batches[0], outcomes[0]); });
  {
    std::unique_lock lock(writer.mutex);
    writer.changed.wait(lock, [&] { return writer.first_started; });
  }
  std::atomic<int> submitted{0};
  for (size_t i = 1; i < batches.size(); ++i) {
    threads.emplace_back([&, i] {
      submitted++;
      statuses[i] = commit.submit(batches[i], outcomes[i]);
    });
    while (submitted.load() < static_cast<int>(i)) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // queued in this order
  }
  {
    std::lock_guard lock(writer.mutex);
    writer.release = true;
  }
  writer.changed.notify_all();
  for (auto& t : threads) t.join();
  ASSERT_EQ(writer.groups.size(), 2u);
  EXPECT_EQ(writer.groups[0], std::vector<uint64_t>({10}));
  EXPECT_EQ(writer.groups[1], std::vector<uint64_t>({11, 12, 13, 14}));
  for (size_t i = 0; i < batches.size(); ++i) {
    EXPECT_EQ(outcomes[i].accepted, batches[i].sequence * 10);
    EXPECT_EQ(statuses[i].ok(), batches[i].sequence != 13);
  }
}

TEST(GroupCommit, GroupsStayUnderTheEventCap) {
  RecordingWriter writer;
  writer.release = true;
  std::mutex hold;
  std::unique_lock held(hold);  // the first group waits here until every batch is queued
  bool first = true;
  GroupCommit commit(
      [&](std::vector<IngestJob*>& g) {
        if (std::exchange(first, false)) std::lock_guard wait(hold);
        writer.write(g);
      },
      250);
  std::vector<BatchRows> batches;
  for (uint64_t s = 1; s <= 5; ++s) batches.push_back(rows_of(s, 100));
  std::vector<std::thread> threads;
  for (size_t i = 0; i < batches.size(); ++i) {
    threads.emplace_back([&, i] {
      IngestOutcome out;
      EXPECT_TRUE(commit.submit(batches[i], out).ok());
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  held.unlock();
  for (auto& t : threads) t.join();
  ASSERT_EQ(writer.groups.size(), 3u);  // {1}, then 100 + 100 <= 250 < 300: {2, 3}, {4, 5}
  EXPECT_EQ(writer.groups[1], std::vector<uint64_t>({2, 3}));
  EXPECT_EQ(writer.groups[2], std::vector<uint64_t>({4, 5}));
}

TEST(GroupCommit, AWriterExceptionFailsItsGroupOnly) {
  bool thrown = false;
  GroupCommit commit(
      [&](std::vector<IngestJob*>& g) {
        if (!std::exchange(thrown, true)) throw std::bad_alloc();
        for (IngestJob* job : g) job->outcome.accepted = 1;
      },
      1000);
  BatchRows batch = rows_of(1, 1);
  IngestOutcome out;
  EXPECT_FALSE(commit.submit(batch, out).ok());
  EXPECT_TRUE(commit.submit(batch, out).ok());
  EXPECT_EQ(out.accepted, 1u);
}
