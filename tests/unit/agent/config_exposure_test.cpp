// Tests for the MCP config watcher on a real inotify instance: absent directories counted apart from failures,
// waited for through their nearest ancestor, and picked up (with their configs) when they are created.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "../secrets/test_tokens.h"
#include "sensors/configs/config_exposure.h"

namespace credtrace::sensors {
namespace {

namespace fs = std::filesystem;

class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (fs::temp_directory_path() / "credtrace-config-watch-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string str(const std::string& rel) const { return (path_ / rel).string(); }

 private:
  fs::path path_;
};

std::string config_with_token(const std::string& token) {
  return R"({"mcpServers": {"github": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-github"],
             "env": {"GITHUB_TOKEN": ")" + token + R"("}}}})";
}

void write_file(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::trunc) << content;
}

// The scans changes() returns within `timeout` (inotify events are queued at once; the loop only absorbs
// scheduling), stopping at the first non-empty answer.
std::vector<credfiles::FileScan> wait_for_changes(ConfigExposureScanner& scanner,
                                                  std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto scans = scanner.changes();
    if (!scans.empty() || std::chrono::steady_clock::now() >= deadline) return scans;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

size_t secrets_in(const credfiles::FileScan& scan) {
  size_t n = 0;
  for (const auto& finding : scan.findings) n += finding.is_secret();
  return n;
}

class ConfigWatch : public ::testing::Test {
 protected:
  std::mt19937 rng{std::random_device{}()};
  ScratchDir dir;
  ConfigExposureScanner scanner{1 << 20};
};

TEST_F(ConfigWatch, AMissingDirectoryIsAbsentNotAFailure) {
  fs::create_directories(dir.str("home"));
  scanner.watch({dir.str("home/.cursor/mcp.json"), dir.str("home/.config/Claude/claude_desktop_config.json"),
                 dir.str("home/.claude.json")},
                std::nullopt);
  EXPECT_EQ(scanner.stats().files_watched, 3u);
  EXPECT_EQ(scanner.stats().dirs_absent, 2u);  // .cursor and .config/Claude; home itself exists
  EXPECT_EQ(scanner.stats().watch_failures, 0u);
}

TEST_F(ConfigWatch, RealFailuresAreCountedAsFailures) {
  write_file(dir.str("not-a-dir"), "a regular file where a directory should be\n");
  fs::create_symlink(dir.str("loop"), dir.str("loop"));  // a symlink to itself: ELOOP, for root too
  scanner.watch({dir.str("not-a-dir/.cursor/mcp.json"), dir.str("not-a-dir/mcp.json"), dir.str("loop/mcp.json")},
                std::nullopt);
  EXPECT_EQ(scanner.stats().watch_failures, 3u);  // ENOTDIR (twice: a component, the directory itself), ELOOP
  EXPECT_EQ(scanner.stats().dirs_absent, 0u);
}

TEST_F(ConfigWatch, AnAbsentDirectoryIsPickedUpWhenCreated) {
  fs::create_directories(dir.str("home"));
  const std::string config = dir.str("home/.config/Claude/claude_desktop_config.json");
  EXPECT_TRUE(scanner.watch({config}, std::nullopt).empty());
  ASSERT_EQ(scanner.stats().dirs_absent, 1u);
  // The client is installed after the agent started: its directories are created one by one, then the config.
  fs::create_directories(dir.str("home/.config/Claude"));
  write_file(config, config_with_token(secrets::testing::github_pat(rng)));
  auto scans = wait_for_changes(scanner);
  ASSERT_EQ(scans.size(), 1u);
  EXPECT_EQ(scans[0].path, config);
  EXPECT_EQ(secrets_in(scans[0]), 1u);
  EXPECT_EQ(scanner.stats().dirs_absent, 0u);
  EXPECT_EQ(scanner.stats().dirs_appeared, 1u);
  EXPECT_EQ(scanner.stats().watch_failures, 0u);
  // From now on the directory itself is watched: a later edit is a change.
  write_file(config, config_with_token(secrets::testing::github_pat(rng)));
  EXPECT_EQ(wait_for_changes(scanner).size(), 1u);
}

TEST_F(ConfigWatch, ADeletedDirectoryIsWaitedForAgain) {
  fs::create_directories(dir.str("project/.cursor"));
  const std::string config = dir.str("project/.cursor/mcp.json");
  write_file(config, config_with_token(secrets::testing::github_pat(rng)));
  ASSERT_EQ(scanner.watch({config}, std::nullopt).size(), 1u);
  EXPECT_EQ(scanner.stats().dirs_absent, 0u);
  fs::remove_all(dir.str("project/.cursor"));
  wait_for_changes(scanner, std::chrono::milliseconds(300));
  EXPECT_EQ(scanner.stats().dirs_absent, 1u);
  fs::create_directories(dir.str("project/.cursor"));
  write_file(config, config_with_token(secrets::testing::github_pat(rng)));
  auto scans = wait_for_changes(scanner);
  ASSERT_EQ(scans.size(), 1u);
  EXPECT_EQ(secrets_in(scans[0]), 1u);
  EXPECT_EQ(scanner.stats().dirs_absent, 0u);
  EXPECT_EQ(scanner.stats().watch_failures, 0u);
}

TEST_F(ConfigWatch, SiblingNamesDoNotWakeAnAbsentDirectory) {
  fs::create_directories(dir.str("home"));
  scanner.watch({dir.str("home/.cursor/mcp.json")}, std::nullopt);
  fs::create_directories(dir.str("home/.cursor-server"));  // sorts next to ".cursor/…" but is not on its way
  EXPECT_TRUE(wait_for_changes(scanner, std::chrono::milliseconds(200)).empty());
  EXPECT_EQ(scanner.stats().dirs_absent, 1u);
  EXPECT_EQ(scanner.stats().dirs_appeared, 0u);
}

}  // namespace
}  // namespace credtrace::sensors
