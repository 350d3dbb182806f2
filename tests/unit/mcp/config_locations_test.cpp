// Tests for known MCP config locations and home directory discovery from a passwd file.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "mcp/client_config.h"

namespace credtrace::mcp {
namespace {

namespace fs = std::filesystem;

std::string fixture(const std::string& rel) { return std::string(CREDTRACE_FIXTURES) + "/mcp/" + rel; }

bool has(const std::vector<ConfigLocation>& locs, const std::string& path, Client client) {
  return std::any_of(locs.begin(), locs.end(), [&](const ConfigLocation& l) { return l.path == path && l.client == client; });
}

// A fresh directory under the system temp dir, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("credtrace-mcp-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
                                         "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string str() const { return path_.string(); }

 private:
  fs::path path_;
};

TEST(UserConfigLocations, EveryKnownClientPath) {
  const std::string h = "/home/u";
  auto locs = user_config_locations(h);
  EXPECT_TRUE(has(locs, "/home/u/.config/Claude/claude_desktop_config.json", Client::claude_desktop));
  EXPECT_TRUE(has(locs, "/home/u/.claude.json", Client::claude_code));
  EXPECT_TRUE(has(locs, "/home/u/.cursor/mcp.json", Client::cursor));
  EXPECT_TRUE(has(locs, "/home/u/.config/Code/User/mcp.json", Client::vscode));
  EXPECT_TRUE(has(locs, "/home/u/.config/Code - Insiders/User/mcp.json", Client::vscode));
  EXPECT_TRUE(has(locs, "/home/u/.config/VSCodium/User/mcp.json", Client::vscode));
  EXPECT_TRUE(has(locs, "/home/u/.codeium/windsurf/mcp_config.json", Client::windsurf));
  EXPECT_TRUE(has(locs,
                  "/home/u/.config/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json",
                  Client::cline));
  EXPECT_TRUE(has(locs, "/home/u/.cline/data/settings/cline_mcp_settings.json", Client::cline));
  EXPECT_TRUE(has(locs, "/home/u/.gemini/settings.json", Client::gemini_cli));
  EXPECT_TRUE(has(locs, "/home/u/.config/zed/settings.json", Client::zed));
  EXPECT_TRUE(has(locs, "/home/u/.continue/config.yaml", Client::continue_dev));
}

TEST(UserConfigLocations, ClientMatchesDetection) {
  for (const auto& loc : user_config_locations("/home/u")) {
    EXPECT_EQ(detect_client(loc.path), loc.client) << loc.path;
  }
}

TEST(UserConfigLocations, ContinueDirectoryEntriesFromFixture) {
  const std::string home = fixture("continue/home");
  auto locs = user_config_locations(home);
  EXPECT_TRUE(has(locs, home + "/.continue/mcpServers/claude-shape.json", Client::continue_dev));
  EXPECT_TRUE(has(locs, home + "/.continue/mcpServers/playwright.yaml", Client::continue_dev));
  EXPECT_FALSE(has(locs, home + "/.continue/mcpServers/README.md", Client::continue_dev));
}

TEST(UserConfigLocations, TrailingSlashHome) {
  EXPECT_TRUE(has(user_config_locations("/root/"), "/root/.claude.json", Client::claude_code));
}

TEST(UserConfigLocations, VscodeProfiles) {
  TempDir home;
  fs::create_directories(home.str() + "/.config/Code/User/profiles/5a1b");
  auto locs = user_config_locations(home.str());
  EXPECT_TRUE(has(locs, home.str() + "/.config/Code/User/profiles/5a1b/mcp.json", Client::vscode));
}

TEST(ProjectConfigLocations, KnownProjectFiles) {
  TempDir project;
  fs::create_directories(project.str() + "/.continue/mcpServers");
  std::ofstream(project.str() + "/.continue/mcpServers/db.yaml") << "mcpServers: []\n";
  auto locs = project_config_locations(project.str());
  EXPECT_TRUE(has(locs, project.str() + "/.mcp.json", Client::claude_code));
  EXPECT_TRUE(has(locs, project.str() + "/.cursor/mcp.json", Client::cursor));
  EXPECT_TRUE(has(locs, project.str() + "/.vscode/mcp.json", Client::vscode));
  EXPECT_TRUE(has(locs, project.str() + "/.gemini/settings.json", Client::gemini_cli));
  EXPECT_TRUE(has(locs, project.str() + "/.zed/settings.json", Client::zed));
  EXPECT_TRUE(has(locs, project.str() + "/.continue/mcpServers/db.yaml", Client::continue_dev));
  EXPECT_EQ(locs.size(), 6u);
}

TEST(HomeDirectories, ExistingHomesOnlyDedupedWithoutSystemDirs) {
  TempDir dir;
  fs::create_directories(dir.str() + "/alice");
  fs::create_directories(dir.str() + "/svc");
  std::ofstream(dir.str() + "/passwd") << "# comment\n"
                                       << "root:x:0:0:root:/root:/bin/bash\n"
                                       << "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
                                       << "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
                                       << "alice:x:1000:1000:Alice,,,:" << dir.str() << "/alice:/bin/bash\n"
                                       << "svc:x:998:998::" << dir.str() << "/svc:/usr/sbin/nologin\n"
                                       << "alias:x:1001:1001::" << dir.str() << "/alice:/bin/zsh\n"
                                       << "broken-line\n"
                                       << "slash:x:1002:1002::/:/bin/sh\n";
  auto homes = home_directories(dir.str() + "/passwd");
  EXPECT_EQ(std::count(homes.begin(), homes.end(), dir.str() + "/alice"), 1);
  EXPECT_EQ(std::count(homes.begin(), homes.end(), dir.str() + "/svc"), 1);
  EXPECT_EQ(std::count(homes.begin(), homes.end(), "/usr/sbin"), 0);
  EXPECT_EQ(std::count(homes.begin(), homes.end(), "/nonexistent"), 0);
  EXPECT_EQ(std::count(homes.begin(), homes.end(), "/"), 0);
  const bool root_exists = fs::is_directory("/root");
  EXPECT_EQ(std::count(homes.begin(), homes.end(), "/root"), root_exists ? 1 : 0);
}

TEST(HomeDirectories, MissingPasswdStillGivesRoot) {
  auto homes = home_directories("/nonexistent/passwd");
  EXPECT_EQ(homes.size(), fs::is_directory("/root") ? 1u : 0u);
}

}  // namespace
}  // namespace credtrace::mcp
