// Tests for known MCP config locations (one table row per client file) and home directory discovery from passwd.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <string>
#include <vector>

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

// ---- one row per known config location ----

// A config file a client reads, relative to the home directory (user locations) or the project directory.
struct KnownLocation {
  std::string name;  // the test name: Clients/UserConfigLocation.Listed/<name>
  std::string relative_path;
  Client client;
};

void PrintTo(const KnownLocation& l, std::ostream* os) { *os << l.name << " (" << l.relative_path << ")"; }

const std::vector<KnownLocation>& user_locations() {
  static const std::vector<KnownLocation> locations = {
      {"claude_desktop", ".config/Claude/claude_desktop_config.json", Client::claude_desktop},
      {"claude_code", ".claude.json", Client::claude_code},
      {"cursor", ".cursor/mcp.json", Client::cursor},
      {"vscode", ".config/Code/User/mcp.json", Client::vscode},
      {"vscode_insiders", ".config/Code - Insiders/User/mcp.json", Client::vscode},
      {"vscodium", ".config/VSCodium/User/mcp.json", Client::vscode},
      {"windsurf", ".codeium/windsurf/mcp_config.json", Client::windsurf},
      {"cline_vscode_extension",
       ".config/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json", Client::cline},
      {"cline_cli", ".cline/data/settings/cline_mcp_settings.json", Client::cline},
      {"gemini_cli", ".gemini/settings.json", Client::gemini_cli},
      {"zed", ".config/zed/settings.json", Client::zed},
      {"continue", ".continue/config.yaml", Client::continue_dev},
  };
  return locations;
}

class UserConfigLocation : public ::testing::TestWithParam<KnownLocation> {};

TEST_P(UserConfigLocation, Listed) {
  EXPECT_TRUE(has(user_config_locations("/home/u"), "/home/u/" + GetParam().relative_path, GetParam().client));
}

INSTANTIATE_TEST_SUITE_P(Clients, UserConfigLocation, ::testing::ValuesIn(user_locations()),
                         [](const ::testing::TestParamInfo<KnownLocation>& info) { return info.param.name; });

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

// The project files every client reads; the Continue directory entry only when that file exists.
const std::vector<KnownLocation>& project_locations() {
  static const std::vector<KnownLocation> locations = {
      {"claude_code", ".mcp.json", Client::claude_code},
      {"cursor", ".cursor/mcp.json", Client::cursor},
      {"vscode", ".vscode/mcp.json", Client::vscode},
      {"gemini_cli", ".gemini/settings.json", Client::gemini_cli},
      {"zed", ".zed/settings.json", Client::zed},
      {"continue_mcp_servers_dir", ".continue/mcpServers/db.yaml", Client::continue_dev},
  };
  return locations;
}

TEST(ProjectConfigLocations, KnownProjectFiles) {
  TempDir project;
  fs::create_directories(project.str() + "/.continue/mcpServers");
  std::ofstream(project.str() + "/.continue/mcpServers/db.yaml") << "mcpServers: []\n";
  auto locs = project_config_locations(project.str());
  for (const KnownLocation& expected : project_locations()) {
    SCOPED_TRACE(expected.name);
    EXPECT_TRUE(has(locs, project.str() + "/" + expected.relative_path, expected.client));
  }
  EXPECT_EQ(locs.size(), project_locations().size());
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
