// Tests for ExeHasher: known digests, caching by file identity, size cap, non-regular files.
#include "identity/exe_hash.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "temp_dir.h"

namespace credtrace::identity {
namespace {

using testing::TempDir;

constexpr const char* kEmptySha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr const char* kAbcSha = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
// sha256 of one million 'a' (FIPS 180-2 test vector); longer than one read chunk.
constexpr const char* kMillionASha = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";

TEST(ExeHash, KnownDigests) {
  TempDir dir;
  ExeHasher hasher;
  EXPECT_EQ(hasher.sha256_of(dir.write("empty", "").string()), kEmptySha);
  EXPECT_EQ(hasher.sha256_of(dir.write("abc", "abc").string()), kAbcSha);
  EXPECT_EQ(hasher.sha256_of(dir.write("million", std::string(1'000'000, 'a')).string()), kMillionASha);
}

TEST(ExeHash, SecondCallIsServedFromCache) {
  TempDir dir;
  ExeHasher hasher;
  auto path = dir.write("abc", "abc").string();
  EXPECT_EQ(hasher.sha256_of(path), kAbcSha);
  EXPECT_EQ(hasher.sha256_of(path), kAbcSha);
  EXPECT_EQ(hasher.hashes_computed(), 1u);
}

TEST(ExeHash, HardLinkSharesTheCacheEntry) {
  TempDir dir;
  ExeHasher hasher;
  auto path = dir.write("abc", "abc");
  auto link = dir.path() / "abc-link";
  std::filesystem::create_hard_link(path, link);
  EXPECT_EQ(hasher.sha256_of(path.string()), kAbcSha);
  EXPECT_EQ(hasher.sha256_of(link.string()), kAbcSha);
  EXPECT_EQ(hasher.hashes_computed(), 1u);
}

TEST(ExeHash, ModifiedFileIsRehashed) {
  TempDir dir;
  ExeHasher hasher;
  auto path = dir.write("f", "abc").string();
  EXPECT_EQ(hasher.sha256_of(path), kAbcSha);
  dir.write("f", "");
  EXPECT_EQ(hasher.sha256_of(path), kEmptySha);
  EXPECT_EQ(hasher.hashes_computed(), 2u);
}

TEST(ExeHash, SizeCap) {
  TempDir dir;
  ExeHasher small(2);
  EXPECT_EQ(small.sha256_of(dir.write("abc", "abc").string()), std::nullopt);
  EXPECT_EQ(small.sha256_of(dir.write("ab", "ab").string()),
            "fb8e20fc2e4c3f248c60c39bd652f3c1347298bb977b8b4d5903b85055620603");
}

TEST(ExeHash, FailuresAreNullopt) {
  TempDir dir;
  ExeHasher hasher;
  EXPECT_EQ(hasher.sha256_of((dir.path() / "missing").string()), std::nullopt);
  EXPECT_EQ(hasher.sha256_of(dir.path().string()), std::nullopt) << "directory";
  EXPECT_EQ(hasher.sha256_of("/dev/null"), std::nullopt) << "character device";
  EXPECT_EQ(hasher.sha256_of(""), std::nullopt);
}

TEST(ExeHash, ConcurrentCallersGetTheSameDigest) {
  TempDir dir;
  ExeHasher hasher;
  auto path = dir.write("abc", "abc").string();
  std::vector<std::thread> threads;
  std::vector<std::optional<std::string>> results(8);
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = hasher.sha256_of(path); });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) EXPECT_EQ(r, kAbcSha);
  EXPECT_GE(hasher.hashes_computed(), 1u);
  EXPECT_EQ(hasher.sha256_of(path), kAbcSha);
}

TEST(ExeHash, RealExecutable) {
  ExeHasher hasher;
  auto digest = hasher.sha256_of("/bin/sh");
  ASSERT_TRUE(digest.has_value());
  EXPECT_EQ(digest->size(), 64u);
  EXPECT_EQ(digest->find_first_not_of("0123456789abcdef"), std::string::npos);
}

}  // namespace
}  // namespace credtrace::identity
