// Tests for matching a process argv to the MCP client config entry that launched it.
#include "mcp/entry_match.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace credtrace::mcp {
namespace {

using Argv = std::vector<std::string>;

ServerEntry stdio(std::string name, std::string command, Argv args,
                  std::vector<std::pair<std::string, std::string>> env = {}) {
  ServerEntry e;
  e.client = Client::claude_desktop;
  e.name = std::move(name);
  e.field_path = "mcpServers." + e.name;
  e.transport = "stdio";
  e.command = std::move(command);
  e.args = std::move(args);
  e.env = std::move(env);
  return e;
}

const char* kEverything = "@modelcontextprotocol/server-everything";

class MatchEntry : public ::testing::Test {
 protected:
  std::vector<ServerEntry> entries = {
      stdio("everything", "npx", {"-y", kEverything}),
      stdio("github", "npx", {"-y", "@modelcontextprotocol/server-github"}, {{"GITHUB_PERSONAL_ACCESS_TOKEN", "x"}}),
      stdio("fs-short", "npx", {"-y", "@modelcontextprotocol/server-filesystem"}),
      stdio("fs-docs", "npx", {"-y", "@modelcontextprotocol/server-filesystem", "/home/u/docs"}),
      stdio("fetch", "uvx", {"mcp-server-fetch"}),
      stdio("gh-docker", "docker", {"run", "-i", "--rm", "-e", "GITHUB_PERSONAL_ACCESS_TOKEN", "ghcr.io/github/github-mcp-server"}),
      stdio("local", "/usr/bin/node", {"/srv/mcp/build/index.js"}),
      stdio("pg", "npx", {"-y", "@modelcontextprotocol/server-postgres", "postgresql://u:${PGPASS}@db/app"}),
  };

  const ServerEntry* match(const Argv& argv, const std::vector<std::string>& env = {}) {
    return match_entry(entries, argv, env);
  }
  std::string name_of(const Argv& argv, const std::vector<std::string>& env = {}) {
    const ServerEntry* e = match(argv, env);
    return e ? e->name : "<none>";
  }
};

TEST_F(MatchEntry, PlainArgv) {
  EXPECT_EQ(name_of({"npx", "-y", kEverything}), "everything");
  EXPECT_EQ(name_of({"uvx", "mcp-server-fetch"}), "fetch");
  EXPECT_EQ(name_of({"/usr/local/bin/uvx", "mcp-server-fetch"}), "fetch");  // basename of argv element
  EXPECT_EQ(name_of({"node", "/srv/mcp/build/index.js"}), "local");          // basename of entry command
  EXPECT_EQ(name_of({"docker", "run", "-i", "--rm", "-e", "GITHUB_PERSONAL_ACCESS_TOKEN", "ghcr.io/github/github-mcp-server"}),
            "gh-docker");
}

TEST_F(MatchEntry, EntriesWrappedByCredtraceRunMatchTheCommandTheyExec) {
  std::vector<ServerEntry> wrapped = {
      stdio("gitlab", "/usr/bin/credtrace", {"run", "--name", "gitlab", "--", "npx", "-y", "@modelcontextprotocol/server-gitlab"}),
      stdio("fetch", "credtrace", {"run", "--preload=/opt/lib/libcredtrace-preload.so", "uvx", "mcp-server-fetch"}),
      stdio("local", "credtrace", {"run", "/usr/bin/node", "/srv/mcp/build/index.js"}),
  };
  auto name = [&](const Argv& argv) {
    const ServerEntry* e = match_entry(wrapped, argv, {});
    return e ? e->name : "<none>";
  };
  EXPECT_EQ(name({"npx", "-y", "@modelcontextprotocol/server-gitlab"}), "gitlab");
  EXPECT_EQ(name({"npm", "exec", "@modelcontextprotocol/server-gitlab"}), "gitlab");
  EXPECT_EQ(name({"uvx", "mcp-server-fetch"}), "fetch");
  EXPECT_EQ(name({"node", "/srv/mcp/build/index.js"}), "local");
  EXPECT_EQ(name({"credtrace", "run", "--name", "x"}), "<none>");
  std::vector<ServerEntry> truncated = {stdio("a", "credtrace", {"run", "--"}), stdio("b", "credtrace", {"run", "--name"}),
                                        stdio("c", "credtrace", {"run", "--name", "x"})};
  EXPECT_EQ(match_entry(truncated, {"node", "x.js"}, {}), nullptr);  // nothing to unwrap: no crash, no match
}

TEST_F(MatchEntry, ShebangUnwrappedForms) {
  EXPECT_EQ(name_of({"/usr/bin/env", "node", "/usr/bin/npx", "-y", kEverything}), "everything");
  EXPECT_EQ(name_of({"node", "/usr/lib/node_modules/npm/bin/npx-cli.js", "-y", kEverything}), "everything");
  EXPECT_EQ(name_of({"/usr/bin/node", "/usr/local/bin/npx", "-y", kEverything}), "everything");
  EXPECT_EQ(name_of({"sh", "-c", "npx -y @modelcontextprotocol/server-everything"}), "everything");
}

TEST_F(MatchEntry, ProcessTitleAndLauncherIdentity) {
  EXPECT_EQ(name_of({"npm exec @modelcontextprotocol/server-everything"}), "everything");
  EXPECT_EQ(name_of({"/home/u/.cache/uv/archive-v0/x/bin/python", "/home/u/.cache/uv/archive-v0/x/bin/mcp-server-fetch"}),
            "fetch");
  EXPECT_EQ(name_of({"npm exec @modelcontextprotocol/server-filesystem /home/u/docs"}), "fs-docs");
}

TEST_F(MatchEntry, MostSpecificArgsWin) {
  EXPECT_EQ(name_of({"npx", "-y", "@modelcontextprotocol/server-filesystem", "/home/u/docs"}), "fs-docs");
  EXPECT_EQ(name_of({"npx", "-y", "@modelcontextprotocol/server-filesystem", "/tmp"}), "fs-short");
}

TEST_F(MatchEntry, PlaceholderArgMatchesAnyToken) {
  EXPECT_EQ(name_of({"npx", "-y", "@modelcontextprotocol/server-postgres", "postgresql://u:hunter2@db/app"}), "pg");
}

TEST_F(MatchEntry, EnvKeysRequiredWhenGiven) {
  const Argv gh = {"npx", "-y", "@modelcontextprotocol/server-github"};
  EXPECT_EQ(name_of(gh), "github");  // env not given: not checked
  EXPECT_EQ(name_of(gh, {"PATH", "GITHUB_PERSONAL_ACCESS_TOKEN"}), "github");
  EXPECT_EQ(name_of(gh, {"PATH", "HOME"}), "<none>");
}

TEST_F(MatchEntry, DisabledEntriesNeverMatch) {
  entries[0].disabled = true;
  EXPECT_EQ(name_of({"npx", "-y", kEverything}), "<none>");
}

TEST_F(MatchEntry, UrlOnlyEntriesNeverMatch) {
  ServerEntry remote;
  remote.name = "remote";
  remote.transport = "http";
  remote.url = "https://mcp.example.com/mcp";
  std::vector<ServerEntry> only = {remote};
  EXPECT_EQ(match_entry(only, {"curl", "https://mcp.example.com/mcp"}, {}), nullptr);
  EXPECT_EQ(match_entry(only, {""}, {}), nullptr);
}

TEST_F(MatchEntry, NoMatch) {
  EXPECT_EQ(name_of({"npx", "-y", "@modelcontextprotocol/server-slack"}), "<none>");
  EXPECT_EQ(name_of({"node", "/srv/other/index.js"}), "<none>");
  EXPECT_EQ(name_of({"python3", "-m", "http.server"}), "<none>");
  EXPECT_EQ(name_of({}), "<none>");
  EXPECT_EQ(match_entry({}, {"npx", "-y", kEverything}, {}), nullptr);
}

TEST_F(MatchEntry, CommandOutsideFirstThreePositions) {
  // "npx" at index 3 is too far from the start to be the launched command (here it is strace's -o file).
  EXPECT_EQ(name_of({"strace", "-f", "-o", "npx", "-y", kEverything}), "<none>");
  std::vector<ServerEntry> local = {stdio("local", "node", {"/srv/mcp/build/index.js"})};
  EXPECT_EQ(match_entry(local, {"a", "b", "c", "node", "/srv/mcp/build/index.js"}, {}), nullptr);
}

TEST_F(MatchEntry, CommandStringWithSpaces) {
  std::vector<ServerEntry> one = {stdio("inline", "npx -y mcp-server-inline", {})};
  EXPECT_EQ(match_entry(one, {"npx", "-y", "mcp-server-inline"}, {}), &one[0]);
}

}  // namespace
}  // namespace credtrace::mcp
