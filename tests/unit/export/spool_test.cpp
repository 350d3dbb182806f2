// Tests for the collector spool: durable files and permissions, bound with oldest-first dropping, replay order,
// persisted sequence across reopen, damaged and leftover files.
#include "export/spool.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace credtrace::exporter {
namespace {

namespace fs = std::filesystem;

class SpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "credtrace-spool-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    dir_ = (root_ / "spool").string();
  }
  void TearDown() override { fs::remove_all(root_); }

  std::unique_ptr<Spool> open(uint64_t max_bytes = 1 << 20) {
    std::string error;
    auto spool = Spool::open(dir_, max_bytes, &error);
    EXPECT_NE(spool, nullptr) << error;
    return spool;
  }
  // Puts `body` under the next sequence; returns that sequence.
  static uint64_t put(Spool& spool, const std::string& body) {
    uint64_t sequence = spool.next_sequence();
    EXPECT_TRUE(spool.put(sequence, body));
    return sequence;
  }
  static mode_t mode_of(const std::string& path) {
    struct stat st {};
    ::stat(path.c_str(), &st);
    return st.st_mode & 07777;
  }

  fs::path root_;
  std::string dir_;
};

TEST_F(SpoolTest, StoresPrivateFilesInAPrivateDirectory) {
  auto spool = open();
  EXPECT_EQ(spool->next_sequence(), 1u);
  EXPECT_EQ(put(*spool, "batch-one"), 1u);
  EXPECT_EQ(put(*spool, "batch-two"), 2u);
  EXPECT_EQ(mode_of(dir_), 0700u);
  EXPECT_EQ(mode_of(dir_ + "/" + spool_file_name(1)), 0600u);
  EXPECT_EQ(spool->read(1).value_or(""), "batch-one");
  EXPECT_EQ(spool->sequences(), (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(spool->stats().bytes, 2 * kSpoolHeaderBytes + 18);
  spool->remove(1);
  EXPECT_EQ(spool->oldest(), 2u);
  EXPECT_FALSE(fs::exists(dir_ + "/" + spool_file_name(1)));
  spool->remove(1);  // already gone: no-op
  EXPECT_EQ(spool->stats().batches, 1u);
}

TEST_F(SpoolTest, TightensAnExistingDirectoryTo0700) {
  fs::create_directories(dir_);
  ::chmod(dir_.c_str(), 0755);
  auto spool = open();
  EXPECT_EQ(mode_of(dir_), 0700u);
}

TEST_F(SpoolTest, WhenFullTheOldestBatchesAreDroppedAndCounted) {
  const std::string body(100, 'x');
  auto spool = open(3 * (kSpoolHeaderBytes + body.size()));
  for (int i = 0; i < 5; ++i) put(*spool, body);
  EXPECT_EQ(spool->sequences(), (std::vector<uint64_t>{3, 4, 5}));
  EXPECT_EQ(spool->stats().dropped_full, 2u);
  EXPECT_LE(spool->stats().bytes, 3 * (kSpoolHeaderBytes + body.size()));
  EXPECT_FALSE(fs::exists(dir_ + "/" + spool_file_name(1)));
}

TEST_F(SpoolTest, ABatchLargerThanTheWholeSpoolIsRefusedAndCounted) {
  auto spool = open(64 << 10);
  put(*spool, "small");
  EXPECT_FALSE(spool->put(spool->next_sequence(), std::string(70 << 10, 'y')));
  EXPECT_EQ(spool->stats().dropped_full, 1u);
  EXPECT_EQ(spool->sequences(), (std::vector<uint64_t>{1}));  // the held batch was not sacrificed for it
  EXPECT_EQ(spool->next_sequence(), 3u);                     // its sequence is used up: the gap is visible
}

TEST_F(SpoolTest, ReopenReplaysInSequenceOrderAndContinuesTheSequence) {
  {
    auto spool = open();
    for (int i = 1; i <= 12; ++i) put(*spool, "body-" + std::to_string(i));  // 10, 11, 12 sort after 9
    spool->remove(1);
  }
  auto spool = open();
  std::vector<uint64_t> expected;
  for (uint64_t i = 2; i <= 12; ++i) expected.push_back(i);
  EXPECT_EQ(spool->sequences(), expected);
  EXPECT_EQ(spool->read(10).value_or(""), "body-10");
  EXPECT_EQ(spool->next_sequence(), 13u);
}

TEST_F(SpoolTest, TheSequenceSurvivesAnEmptySpool) {
  {
    auto spool = open();
    for (int i = 0; i < 4; ++i) spool->remove(put(*spool, "acked"));
    EXPECT_EQ(spool->stats().batches, 0u);
  }
  EXPECT_EQ(open()->next_sequence(), 5u);
}

TEST_F(SpoolTest, ANewSpoolStartsAtTheGivenFirstSequenceAndKeepsItsOwnAfterwards) {
  std::string error;
  {
    auto spool = Spool::open(dir_, 1 << 20, &error, 1000);
    ASSERT_NE(spool, nullptr) << error;
    EXPECT_EQ(spool->next_sequence(), 1000u);
    spool->remove(put(*spool, "x"));
  }
  auto spool = Spool::open(dir_, 1 << 20, &error, 5);  // an existing spool ignores first_sequence
  ASSERT_NE(spool, nullptr) << error;
  EXPECT_EQ(spool->next_sequence(), 1001u);
}

TEST_F(SpoolTest, ADamagedBatchIsSkippedDeletedAndCounted) {
  auto spool = open();
  put(*spool, "first-batch");
  put(*spool, "second-batch");
  {
    std::fstream f(dir_ + "/" + spool_file_name(1), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(kSpoolHeaderBytes + 2));
    f.put('!');
  }
  EXPECT_FALSE(spool->read(1).has_value());
  EXPECT_EQ(spool->stats().corrupt, 1u);
  EXPECT_EQ(spool->oldest(), 2u);
  EXPECT_EQ(spool->read(2).value_or(""), "second-batch");
  EXPECT_FALSE(fs::exists(dir_ + "/" + spool_file_name(1)));
}

TEST_F(SpoolTest, TruncatedAndLeftoverFilesAreCleanedUpOnOpen) {
  {
    auto spool = open();
    put(*spool, "good");
  }
  std::ofstream(dir_ + "/" + spool_file_name(7)) << "short";                    // shorter than a header
  std::ofstream(dir_ + "/.tmp-" + spool_file_name(8)) << "cut short by a crash";  // never renamed
  std::ofstream(dir_ + "/" + spool_file_name(9)) << std::string(40, 'z');       // wrong magic
  auto spool = open();
  EXPECT_EQ(spool->stats().corrupt, 1u);  // the short one, found by size
  EXPECT_FALSE(fs::exists(dir_ + "/.tmp-" + spool_file_name(8)));
  EXPECT_EQ(spool->sequences(), (std::vector<uint64_t>{1, 9}));
  EXPECT_EQ(spool->next_sequence(), 10u);  // never reuse a sequence a file on disk already carries
  EXPECT_EQ(spool->read(1).value_or(""), "good");
  EXPECT_FALSE(spool->read(9).has_value());  // found by its header
  EXPECT_EQ(spool->stats().corrupt, 2u);
}

TEST_F(SpoolTest, AShrunkLimitDropsTheOldestOnOpen) {
  const std::string body(4000, 'b');
  {
    auto spool = open(1 << 20);
    for (int i = 0; i < 20; ++i) put(*spool, body);
  }
  auto spool = open(64 << 10);
  EXPECT_LE(spool->stats().bytes, 64u << 10);
  EXPECT_EQ(spool->sequences().back(), 20u);
  EXPECT_EQ(spool->stats().dropped_full, 20u - spool->stats().batches);
  EXPECT_GT(spool->stats().dropped_full, 0u);
}

}  // namespace
}  // namespace credtrace::exporter
