// Unit tests of kernel-read exec environments: chunk reassembly, truncation and gaps, parsing, one take per exec.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "sensors/env/exec_env.h"

namespace credtrace::sensors {
namespace {

ct_exec_env_event chunk(uint32_t pid, const std::string& block, uint32_t offset, size_t len, uint32_t flags = 0,
                        uint64_t time_boot_ns = 5'000'000'000) {
  ct_exec_env_event e{};
  e.hdr.type = CT_EVENT_EXEC_ENV;
  e.hdr.time_boot_ns = time_boot_ns;
  e.hdr.tgid = pid;
  e.hdr.flags = CT_FLAG_WATCHED | flags;
  e.offset = offset;
  e.total_len = static_cast<uint32_t>(block.size());
  e.len = static_cast<uint32_t>(len);
  std::memcpy(e.data, block.data() + offset, len);
  return e;
}

const std::string kToken = "ghp_" + std::string(36, 'Q');

TEST(ParseEnvBlock, SplitsNameValuePairsAndSkipsEntriesWithoutEquals) {
  std::string block = std::string("PATH=/bin\0GITHUB_TOKEN=", 23) + kToken + std::string("\0JUNK\0=x\0EMPTY=\0", 16);
  auto vars = parse_env_block(block, true);
  ASSERT_EQ(vars.size(), 3u);
  EXPECT_EQ(vars[0], (std::pair<std::string, std::string>{"PATH", "/bin"}));
  EXPECT_EQ(vars[1], (std::pair<std::string, std::string>{"GITHUB_TOKEN", kToken}));
  EXPECT_EQ(vars[2], (std::pair<std::string, std::string>{"EMPTY", ""}));
}

TEST(ParseEnvBlock, AnIncompleteBlockLeavesOutItsCutLastVariable) {
  std::string block = std::string("A=1\0TOKEN=", 10) + kToken.substr(0, 10);
  auto vars = parse_env_block(block, false);
  ASSERT_EQ(vars.size(), 1u);
  EXPECT_EQ(vars[0].first, "A");
}

TEST(ExecEnvironments, ReassemblesChunksAndIsTakenOnce) {
  std::string block = std::string("LOG=debug\0GITHUB_TOKEN=", 23) + kToken + std::string("\0", 1);
  ExecEnvironments envs;
  envs.on_chunk(chunk(7, block, 0, 20));
  envs.on_chunk(chunk(7, block, 20, block.size() - 20));
  auto env = envs.take(7, 0);
  ASSERT_TRUE(env);
  EXPECT_TRUE(env->complete);
  ASSERT_EQ(env->vars.size(), 2u);
  EXPECT_EQ(env->vars[1].second, kToken);
  EXPECT_FALSE(envs.take(7, 0));  // one exec, one take
  EXPECT_EQ(envs.stats().blocks, 1u);
  EXPECT_EQ(envs.stats().used, 1u);
}

TEST(ExecEnvironments, ALostChunkOrTruncationMakesTheBlockIncomplete) {
  std::string block = std::string("A=1\0B=2\0C=3\0", 12);
  ExecEnvironments envs;
  envs.on_chunk(chunk(1, block, 0, 4));
  envs.on_chunk(chunk(1, block, 8, 4));  // 4..8 was dropped
  auto gap = envs.take(1, 0);
  ASSERT_TRUE(gap);
  EXPECT_FALSE(gap->complete);
  EXPECT_EQ(envs.stats().gaps, 1u);

  envs.on_chunk(chunk(2, block, 0, 6, CT_FLAG_TRUNCATED));
  auto cut = envs.take(2, 0);
  ASSERT_TRUE(cut);
  EXPECT_FALSE(cut->complete);
  ASSERT_EQ(cut->vars.size(), 1u);  // "B=" was cut: left out
  EXPECT_EQ(envs.stats().truncated, 1u);
}

TEST(ExecEnvironments, DroppedBlocksAreGoneAndTheLimitEvictsTheOldest) {
  std::string block = std::string("A=1\0", 4);
  ExecEnvironments envs(2);
  envs.on_chunk(chunk(1, block, 0, block.size()));
  envs.drop(1);
  EXPECT_FALSE(envs.take(1, 0));
  envs.on_chunk(chunk(2, block, 0, block.size()));
  envs.on_chunk(chunk(3, block, 0, block.size()));
  envs.on_chunk(chunk(4, block, 0, block.size()));
  EXPECT_EQ(envs.stats().evicted, 1u);
  EXPECT_FALSE(envs.take(2, 0));
  EXPECT_TRUE(envs.take(4, 0));
  // A later chunk whose first chunk was never seen adds nothing.
  envs.on_chunk(chunk(9, std::string(8, 'x'), 4, 4));
  EXPECT_FALSE(envs.take(9, 0));
}

TEST(ExecEnvironments, ABlockOlderThanTheProcessIsNeverHandedToIt) {
  std::string block = std::string("TOKEN=", 6) + kToken + std::string("\0", 1);
  ExecEnvironments envs;
  envs.on_chunk(chunk(5, block, 0, block.size(), 0, /*time_boot_ns=*/1'000'000'000));
  EXPECT_FALSE(envs.take(5, /*process_start_boottime_ns=*/2'000'000'000));  // the pid was reused since
  envs.on_chunk(chunk(5, block, 0, block.size(), 0, 2'500'000'000));
  EXPECT_TRUE(envs.take(5, 2'000'000'000));
}

TEST(ExecEnvironments, TheOldestArrivalIsEvictedNotTheLowestPid) {
  std::string block = std::string("A=1\0", 4);
  ExecEnvironments envs(2);
  envs.on_chunk(chunk(900, block, 0, block.size()));
  envs.on_chunk(chunk(5, block, 0, block.size()));
  envs.on_chunk(chunk(7, block, 0, block.size()));
  EXPECT_FALSE(envs.take(900, 0));
  EXPECT_TRUE(envs.take(5, 0));
  EXPECT_TRUE(envs.take(7, 0));
}

}  // namespace
}  // namespace credtrace::sensors
