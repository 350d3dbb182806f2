// Tests for the collector spool: durable files and permissions, bound with oldest-first dropping, replay order,
// persisted sequence across reopen, damaged and leftover files, and a really full disk (a small tmpfs, as root).
#include "export/spool.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

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

// ---- A really full disk: the spool lives on a 256 KiB tmpfs, its own bound is far larger. ----

// Mounts a tmpfs on `dir` for the lifetime of the object and detaches it (MNT_DETACH) on destruction, so a failed
// assertion never leaves it mounted.
class ScopedTmpfs {
 public:
  ScopedTmpfs(std::string dir, const char* options) : dir_(std::move(dir)) {
    if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, options) == 0) {
      mounted_ = true;
    } else {
      error_ = errno;
    }
  }
  ~ScopedTmpfs() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  ScopedTmpfs(const ScopedTmpfs&) = delete;
  ScopedTmpfs& operator=(const ScopedTmpfs&) = delete;

  bool mounted() const { return mounted_; }
  int error() const { return error_; }

 private:
  const std::string dir_;
  bool mounted_ = false;
  int error_ = 0;
};

class SpoolDiskFullTest : public SpoolTest {
 protected:
  void SetUp() override {
    SpoolTest::SetUp();
    if (::geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs needs root; the full-disk spool test did not run";
    const std::string mount_point = (root_ / "disk").string();
    fs::create_directory(mount_point);
    disk_.emplace(mount_point, ("size=" + std::to_string(disk_bytes_)).c_str());  // 256k with 4 KiB pages
    if (!disk_->mounted() && disk_->error() == EPERM)
      GTEST_SKIP() << "mount(tmpfs) refused with EPERM (no CAP_SYS_ADMIN here); the full-disk spool test did not run";
    ASSERT_TRUE(disk_->mounted()) << "mount(tmpfs, " << mount_point << "): " << std::strerror(disk_->error());
    dir_ = mount_point + "/spool";
  }
  void TearDown() override {
    disk_.reset();  // unmount before the temporary tree is deleted
    SpoolTest::TearDown();
  }

  // A body that tells where it came from: its sequence, then bytes derived from it (any mix-up shows on read).
  static std::string body_for(uint64_t sequence, size_t size) {
    std::string body = "batch-" + std::to_string(sequence) + "-";
    uint32_t state = static_cast<uint32_t>(sequence) * 2654435761u + 1;
    while (body.size() < size) {
      state = state * 1664525u + 1013904223u;
      body.push_back(static_cast<char>(state >> 24));
    }
    body.resize(size);
    return body;
  }
  // Sizes of 2 to 7 pages (6 to 26 KB), so one new batch may need several old ones evicted.
  size_t size_for(uint64_t i) const { return page_ + (i * 7919) % (5 * page_); }

  uint64_t free_bytes() const {
    struct statvfs st {};
    EXPECT_EQ(::statvfs(dir_.c_str(), &st), 0);
    return static_cast<uint64_t>(st.f_bfree) * st.f_frsize;
  }

  struct DirContents {
    std::map<uint64_t, uint64_t> batches;  // sequence → file size
    uint64_t bytes = 0;
    int other_files = 0;  // anything but batch files and the sequence file (e.g. a leftover temporary file)
  };
  DirContents on_disk() const {
    DirContents out;
    for (const auto& entry : fs::directory_iterator(dir_)) {
      const std::string name = entry.path().filename().string();
      if (name == "sequence") continue;
      bool is_batch = name.size() == spool_file_name(0).size() && name.ends_with(".batch");
      if (!is_batch) {
        ++out.other_files;
        continue;
      }
      uint64_t size = fs::file_size(entry.path());
      out.batches[std::stoull(name.substr(0, name.size() - 6))] = size;
      out.bytes += size;
    }
    return out;
  }

  // Held batches match the files on disk one for one, the byte count is their sum, no temporary file is left.
  void expect_accounting_matches_disk(const Spool& spool) const {
    DirContents disk = on_disk();
    std::vector<uint64_t> held = spool.sequences();
    std::vector<uint64_t> files;
    for (const auto& [sequence, _] : disk.batches) files.push_back(sequence);
    EXPECT_EQ(held, files);
    EXPECT_EQ(spool.stats().batches, disk.batches.size());
    EXPECT_EQ(spool.stats().bytes, disk.bytes);
    EXPECT_EQ(disk.other_files, 0);
  }

  // tmpfs allocates whole pages: sizes are in pages so the test means the same on any page size.
  const uint64_t page_ = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  const uint64_t disk_bytes_ = 64 * page_;
  const uint64_t spool_limit_ = 16 * disk_bytes_;  // the disk fills long before the spool's own bound
  std::optional<ScopedTmpfs> disk_;
};

TEST_F(SpoolDiskFullTest, WhenTheDiskFillsTheOldestBatchesAreEvictedCountedAndTheRestReloads) {
  auto spool = open(spool_limit_);
  ASSERT_NE(spool, nullptr);
  std::map<uint64_t, size_t> accepted;  // sequence → body size, every batch put() kept at the time
  uint64_t first_eviction_at = 0;
  for (uint64_t i = 0; i < 60; ++i) {  // ~60 × 16 KB: the 256 KiB disk is full after ~15, then 45 more
    const uint64_t sequence = spool->next_sequence();
    const size_t size = size_for(i);
    const uint64_t dropped_before = spool->stats().dropped_full;
    const uint64_t held_bytes_before = spool->stats().bytes;
    const uint64_t free_before = free_bytes();
    const uint64_t needed = (kSpoolHeaderBytes + size + page_ - 1) / page_ * page_;
    bool kept = false;
    EXPECT_NO_THROW(kept = spool->put(sequence, body_for(sequence, size)));
    ASSERT_TRUE(kept) << "batch " << i << " (" << size << " bytes) was not kept on a full disk";
    accepted[sequence] = size;
    const bool evicted = spool->stats().dropped_full > dropped_before;
    // Evictions happen exactly when the disk (never the spool's own bound) has no room for the new batch.
    EXPECT_LT(held_bytes_before + kSpoolHeaderBytes + size, spool_limit_);
    if (free_before < needed) {
      EXPECT_TRUE(evicted) << "batch " << i << ": the disk was full";
    } else if (free_before >= needed + page_) {
      EXPECT_FALSE(evicted) << "batch " << i << ": the disk had room";
    }
    if (evicted && first_eviction_at == 0) first_eviction_at = i;
    EXPECT_EQ(spool->sequences().back(), sequence);  // the newest is always held
  }
  ASSERT_GT(first_eviction_at, 0u) << "the disk never filled up";
  EXPECT_LT(first_eviction_at, 30u);

  SpoolStats stats = spool->stats();
  std::vector<uint64_t> held = spool->sequences();
  ASSERT_FALSE(held.empty());
  EXPECT_EQ(stats.write_failures, 0u);
  EXPECT_EQ(stats.corrupt, 0u);
  EXPECT_LE(stats.bytes, disk_bytes_);
  // Exactly the oldest batches were evicted, each counted once: the held ones are the newest, contiguous.
  EXPECT_EQ(stats.dropped_full, accepted.size() - held.size());
  std::vector<uint64_t> newest;
  for (auto it = std::prev(accepted.end(), static_cast<long>(held.size())); it != accepted.end(); ++it)
    newest.push_back(it->first);
  EXPECT_EQ(held, newest);
  for (auto it = accepted.begin(); it->first < held.front(); ++it)
    EXPECT_FALSE(fs::exists(dir_ + "/" + spool_file_name(it->first))) << it->first;
  for (uint64_t sequence : held)
    EXPECT_TRUE(spool->read(sequence) == body_for(sequence, accepted[sequence])) << "batch " << sequence;
  expect_accounting_matches_disk(*spool);
  const uint64_t next = spool->next_sequence();
  const uint64_t bytes = stats.bytes;

  // A new Spool on the same (still full) disk finds the same batches, bytes and sequence.
  spool.reset();
  spool = open(spool_limit_);
  ASSERT_NE(spool, nullptr);
  EXPECT_EQ(spool->sequences(), held);
  EXPECT_EQ(spool->next_sequence(), next);
  EXPECT_EQ(spool->stats().bytes, bytes);
  EXPECT_EQ(spool->stats().corrupt, 0u);
  EXPECT_EQ(spool->stats().dropped_full, 0u);
  for (uint64_t sequence : held)
    EXPECT_TRUE(spool->read(sequence) == body_for(sequence, accepted[sequence])) << "batch " << sequence;
  expect_accounting_matches_disk(*spool);

  // And keeps going: the next big batch evicts the oldest again.
  const uint64_t sequence = spool->next_sequence();
  const size_t big = 7 * page_ - 100;
  ASSERT_TRUE(spool->put(sequence, body_for(sequence, big)));
  EXPECT_GT(spool->stats().dropped_full, 0u);
  EXPECT_EQ(spool->stats().dropped_full, held.size() + 1 - spool->sequences().size());
  EXPECT_EQ(spool->sequences().back(), sequence);
  EXPECT_TRUE(spool->read(sequence) == body_for(sequence, big));
  expect_accounting_matches_disk(*spool);
}

TEST_F(SpoolDiskFullTest, ABatchLargerThanTheWholeDiskFailsCleanlyAndIsCountedOnce) {
  auto spool = open(spool_limit_);
  ASSERT_NE(spool, nullptr);
  for (int i = 0; i < 3; ++i) put(*spool, body_for(spool->next_sequence(), 1000));
  const uint64_t free_before = free_bytes();
  const uint64_t sequence = spool->next_sequence();

  bool kept = true;
  EXPECT_NO_THROW(kept = spool->put(sequence, std::string(2 * disk_bytes_, 'z')));  // under the spool's own bound
  EXPECT_FALSE(kept);
  SpoolStats stats = spool->stats();
  EXPECT_EQ(stats.dropped_full + stats.write_failures, 1u);  // the refused batch, once
  EXPECT_EQ(stats.dropped_full, 1u);
  EXPECT_EQ(spool->sequences(), (std::vector<uint64_t>{1, 2, 3}));  // not sacrificed for a batch that cannot fit
  for (uint64_t held = 1; held <= 3; ++held) EXPECT_TRUE(spool->read(held) == body_for(held, 1000)) << held;
  EXPECT_EQ(spool->next_sequence(), sequence + 1);  // its sequence is used up: the gap is visible
  EXPECT_EQ(free_bytes(), free_before);            // the partial file is gone
  expect_accounting_matches_disk(*spool);

  EXPECT_EQ(put(*spool, "after"), sequence + 1);  // the spool still works
  EXPECT_EQ(spool->read(sequence + 1), "after");
}

TEST_F(SpoolDiskFullTest, ABatchThatCannotFitBesideOtherFilesKeepsTheHeldBatches) {
  auto spool = open(spool_limit_);
  ASSERT_NE(spool, nullptr);
  for (int i = 0; i < 2; ++i) put(*spool, body_for(spool->next_sequence(), 3 * page_ - 100));  // 3 pages each
  {  // someone else fills the disk up to 9 free pages
    std::ofstream other(root_ / "disk" / "other-file", std::ios::binary);
    other << std::string(free_bytes() - 9 * page_, 'o');
  }
  ASSERT_EQ(free_bytes(), 9 * page_);
  // 17 pages: more than the 9 free and the 6 held together.
  EXPECT_FALSE(spool->put(spool->next_sequence(), std::string(16 * page_, 'n')));
  EXPECT_EQ(spool->stats().dropped_full, 1u);
  EXPECT_EQ(spool->stats().write_failures, 0u);
  EXPECT_EQ(spool->sequences(), (std::vector<uint64_t>{1, 2}));
  // A batch that fits once the oldest held one is gone still evicts it.
  const uint64_t sequence = spool->next_sequence();
  ASSERT_TRUE(spool->put(sequence, body_for(sequence, 10 * page_ - 100)));  // 10 pages: 9 free, the oldest frees 3
  EXPECT_EQ(spool->stats().dropped_full, 2u);
  EXPECT_EQ(spool->sequences(), (std::vector<uint64_t>{2, sequence}));
  expect_accounting_matches_disk(*spool);
}

}  // namespace
}  // namespace credtrace::exporter
