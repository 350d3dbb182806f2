// Tests for MCP server recognition through every launcher form, and for MCP client process recognition.
#include "mcp/launch_patterns.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace credtrace::mcp {
namespace {

using Argv = std::vector<std::string>;

std::optional<std::string> server(const Argv& argv, std::string_view exe = "") {
  static const LaunchMatcher matcher(default_server_patterns());
  return matcher.match(argv, exe);
}

constexpr const char* kEverything = "@modelcontextprotocol/server-everything";

TEST(DefaultServerPatterns, ContainsDocumentedGlobs) {
  auto p = default_server_patterns();
  for (const char* g : {"@modelcontextprotocol/*", "mcp-server-*", "*-mcp-server", "*-mcp", "mcp_server_*", "@*/mcp-server-*",
                        "@*/*-mcp-server", "@*/*-mcp"}) {
    EXPECT_NE(std::find(p.begin(), p.end(), g), p.end()) << g;
  }
}

TEST(LaunchMatcher, Npx) {
  EXPECT_EQ(server({"npx", "-y", kEverything}), kEverything);
  EXPECT_EQ(server({"npx", "--yes", "@modelcontextprotocol/server-github@2025.4.8"}), "@modelcontextprotocol/server-github");
  EXPECT_EQ(server({"npx", "-q", "--", "mcp-server-kubernetes@latest", "--flag"}), "mcp-server-kubernetes");
  EXPECT_EQ(server({"npx", "--package=@acme/tools", "acme-mcp"}), "acme-mcp");
  EXPECT_EQ(server({"npx", "-p", "@acme/weather-mcp", "weather"}), "@acme/weather-mcp");
  EXPECT_EQ(server({"npx", "-y", "@playwright/mcp@latest"}), std::nullopt);  // "@playwright/mcp" fits no default glob
}

TEST(LaunchMatcher, OtherNodeLaunchers) {
  EXPECT_EQ(server({"npm", "exec", "--yes", "--", kEverything}), kEverything);
  EXPECT_EQ(server({"npm", "x", "mcp-server-fetch"}), "mcp-server-fetch");
  EXPECT_EQ(server({"pnpm", "dlx", "@upstash/context7-mcp@1.0"}), "@upstash/context7-mcp");
  EXPECT_EQ(server({"bunx", "firecrawl-mcp"}), "firecrawl-mcp");
  EXPECT_EQ(server({"bun", "x", "firecrawl-mcp"}), "firecrawl-mcp");
  EXPECT_EQ(server({"yarn", "dlx", "@notionhq/notion-mcp-server"}), "@notionhq/notion-mcp-server");
  EXPECT_EQ(server({"pnpx", "mcp-server-x"}), "mcp-server-x");
  EXPECT_EQ(server({"npx", "--registry", "https://npm.corp/", "-y", "@corp/jira-mcp"}), "@corp/jira-mcp");
  EXPECT_EQ(server({"deno", "run", "-A", "npm:@modelcontextprotocol/server-memory@1"}), "@modelcontextprotocol/server-memory");
}

TEST(LaunchMatcher, PythonLaunchers) {
  EXPECT_EQ(server({"uvx", "mcp-server-fetch"}), "mcp-server-fetch");
  EXPECT_EQ(server({"uvx", "--from", "git+https://github.com/o/mcp-server-git.git@v1", "--with", "httpx", "serve"}),
            "mcp-server-git");
  EXPECT_EQ(server({"uvx", "mcp-server-time==0.6.2", "--local-timezone=UTC"}), "mcp-server-time");
  EXPECT_EQ(server({"uvx", "--python", "3.12", "awslabs.core-mcp-server@latest"}), "awslabs.core-mcp-server");
  EXPECT_EQ(server({"/home/u/.local/bin/uv", "tool", "run", "mcp-server-sqlite", "--db-path", "x.db"}), "mcp-server-sqlite");
  EXPECT_EQ(server({"uv", "run", "--with", "mcp", "python", "-m", "mcp_server_git"}), "mcp_server_git");
  EXPECT_EQ(server({"pipx", "run", "--spec", "mcp-server-fetch==1.0", "mcp-server-fetch"}), "mcp-server-fetch");
  EXPECT_EQ(server({"pipx", "run", "mcp-server-time"}), "mcp-server-time");
  EXPECT_EQ(server({"python3", "-u", "-m", "mcp_server_fetch"}), "mcp_server_fetch");
  EXPECT_EQ(server({"/usr/bin/python3.11", "-X", "utf8", "-m", "mcp_server_git.server"}), "mcp_server_git.server");
  EXPECT_EQ(server({"python", "/opt/tools/mcp_server_jira.py"}), "mcp_server_jira");
  EXPECT_EQ(server({"/usr/bin/python3", "/usr/bin/pipx", "run", "mcp-server-time"}), "mcp-server-time");
  EXPECT_EQ(server({"/home/u/.cache/uv/archive-v0/abc/bin/python", "/home/u/.cache/uv/archive-v0/abc/bin/mcp-server-fetch"}),
            "mcp-server-fetch");
}

TEST(LaunchMatcher, NodeScripts) {
  EXPECT_EQ(server({"node", "/home/u/.npm/_npx/1a2b/node_modules/@modelcontextprotocol/server-everything/dist/index.js", "stdio"}),
            kEverything);
  EXPECT_EQ(server({"node", "--enable-source-maps", "-r", "dotenv/config", "/srv/weather-mcp.mjs"}), "weather-mcp");
  EXPECT_EQ(server({"node", "/home/u/.npm/_npx/1a2b/node_modules/.bin/mcp-server-everything"}), "mcp-server-everything");
  EXPECT_EQ(server({"node", "/x/node_modules/.pnpm/a@1/node_modules/tavily-mcp/build/index.js"}), "tavily-mcp");
}

TEST(LaunchMatcher, ShebangUnwrappedNpx) {
  EXPECT_EQ(server({"/usr/bin/env", "node", "/usr/bin/npx", "-y", kEverything}, "/usr/bin/node"), kEverything);
  EXPECT_EQ(server({"node", "/usr/lib/node_modules/npm/bin/npx-cli.js", "-y", kEverything}, "/usr/bin/node"), kEverything);
  EXPECT_EQ(server({"/usr/bin/node", "/usr/local/bin/npx", "-y", kEverything}, "/usr/bin/node"), kEverything);
  EXPECT_EQ(server({"node", "/usr/lib/node_modules/npm/bin/npm-cli.js", "exec", "mcp-server-x"}), "mcp-server-x");
  EXPECT_EQ(server({"/usr/bin/env", "-S", "node --no-warnings", "/usr/bin/npx", "-y", kEverything}), kEverything);
}

TEST(LaunchMatcher, ProcessTitleWithSpaces) {
  EXPECT_EQ(server({"npm exec @modelcontextprotocol/server-everything"}, "/usr/bin/node"), kEverything);
  EXPECT_EQ(server({"npm exec @modelcontextprotocol/server-filesystem /tmp", "", ""}, "/usr/bin/node"),
            "@modelcontextprotocol/server-filesystem");
}

TEST(LaunchMatcher, ShellAndEnvWrappers) {
  EXPECT_EQ(server({"sh", "-c", "npx -y @modelcontextprotocol/server-github"}), "@modelcontextprotocol/server-github");
  EXPECT_EQ(server({"/bin/bash", "-lc", "cd /srv && exec uvx mcp-server-fetch"}), "mcp-server-fetch");
  EXPECT_EQ(server({"dash", "-c", "FOO='a b' mcp-server-fetch --x"}), "mcp-server-fetch");
  EXPECT_EQ(server({"/usr/bin/env", "GITHUB_TOKEN=x", "DEBUG=1", "github-mcp-server", "stdio"}), "github-mcp-server");
  EXPECT_EQ(server({"env", "-i", "-u", "HOME", "mcp-server-fetch"}), "mcp-server-fetch");
}

TEST(LaunchMatcher, Containers) {
  EXPECT_EQ(server({"docker", "run", "-i", "--rm", "-e", "GITHUB_PERSONAL_ACCESS_TOKEN", "ghcr.io/github/github-mcp-server"}),
            "github-mcp-server");
  EXPECT_EQ(server({"podman", "run", "-i", "--rm", "--env-file", "/h/.env", "-v", "/a:/b", "--name", "n", "--network",
                    "host", "-e", "X=Y", "docker.io/acme/slack-mcp:1.2@sha256:abcd", "--verbose"}),
            "slack-mcp");
  EXPECT_EQ(server({"docker", "run", "-i", "--rm", "--mount", "type=bind,src=/x,dst=/x", "mcp/filesystem", "/x"}),
            "mcp/filesystem");
  EXPECT_EQ(server({"docker", "container", "run", "-it", "--init", "--pull=always", "localhost:5000/mcp-server-x:dev"}),
            "mcp-server-x");
  EXPECT_EQ(server({"docker", "run", "-i", "node:20", "npx", "-y", kEverything}), kEverything);
  EXPECT_EQ(server({"docker", "ps"}), std::nullopt);
}

TEST(LaunchMatcher, PlainBinary) {
  EXPECT_EQ(server({"/usr/local/bin/github-mcp-server", "stdio"}), "github-mcp-server");
  EXPECT_EQ(server({"server"}, "/opt/acme/bin/acme-mcp-server"), "acme-mcp-server");
  EXPECT_EQ(server({"MCP-SERVER-Upper"}), "MCP-SERVER-Upper");  // globs are case-insensitive
}

TEST(LaunchMatcher, NotServers) {
  EXPECT_EQ(server({"node", "server.js"}, "/usr/bin/node"), std::nullopt);
  EXPECT_EQ(server({"python", "-m", "http.server"}, "/usr/bin/python3.11"), std::nullopt);
  EXPECT_EQ(server({"bash", "-c", "ls -la"}, "/usr/bin/bash"), std::nullopt);
  EXPECT_EQ(server({"/usr/share/code/code", "--type=extensionHost"}, "/usr/share/code/code"), std::nullopt);
  EXPECT_EQ(server({"npx", "-y", "prettier"}), std::nullopt);
  EXPECT_EQ(server({"node", "-e", "require('mcp-server-x')"}), std::nullopt);
  EXPECT_EQ(server({}, ""), std::nullopt);
  EXPECT_EQ(server({"", ""}, ""), std::nullopt);
}

TEST(LaunchMatcher, CustomGlobs) {
  LaunchMatcher m({"acme-?ool", "@corp/*"});
  EXPECT_EQ(m.match({"npx", "@corp/internal"}, ""), "@corp/internal");
  EXPECT_EQ(m.match({"acme-tool"}, ""), "acme-tool");
  EXPECT_EQ(m.match({"acme-tools"}, ""), std::nullopt);
  EXPECT_EQ(m.match({"mcp-server-fetch"}, ""), std::nullopt);
  EXPECT_EQ(LaunchMatcher({}).match({"mcp-server-fetch"}, ""), std::nullopt);
}

TEST(LaunchMatcher, NestingIsUnwrappedButBounded) {
  EXPECT_EQ(server({"env", "A=1", "sh", "-c", "bash -c \"env B=2 npx -y mcp-server-nested\""}), "mcp-server-nested");
  Argv deep(40, "env");
  deep.push_back("mcp-server-deep");
  EXPECT_EQ(server(deep), std::nullopt);  // recursion is bounded: no stack exhaustion on hostile argv
}

bool client(const Argv& argv, std::string_view exe = "") {
  static const ClientMatcher matcher(default_client_patterns());
  return matcher.matches(argv, exe);
}

TEST(ClientMatcher, KnownClients) {
  EXPECT_TRUE(client({"claude"}, "/usr/bin/node"));
  EXPECT_TRUE(client({"node", "/usr/lib/node_modules/@anthropic-ai/claude-code/cli.js"}, "/usr/bin/node"));
  EXPECT_TRUE(client({"/usr/bin/env", "node", "/usr/local/bin/gemini"}, "/usr/bin/node"));
  EXPECT_TRUE(client({"/usr/share/code/code", "--type=extensionHost"}, "/usr/share/code/code"));
  EXPECT_TRUE(client({"/tmp/.mount_CursorAbc/cursor"}, "/tmp/.mount_CursorAbc/cursor"));
  EXPECT_TRUE(client({"windsurf"}, "/usr/share/windsurf/windsurf"));
  EXPECT_TRUE(client({"zed-editor"}, "/usr/lib/zed/zed-editor"));
  EXPECT_TRUE(client({"goose", "session"}, "/usr/local/bin/goose"));
  EXPECT_TRUE(client({"x"}, "/opt/Claude/claude-desktop"));
  EXPECT_TRUE(client({"Code"}, ""));  // case-insensitive
}

TEST(ClientMatcher, GlobMayNameTheScriptWithOrWithoutExtension) {
  const Argv argv = {"node", "/srv/tools/mcp_client.mjs", "{\"x\":1}"};
  EXPECT_TRUE(ClientMatcher({"mcp_client.mjs"}).matches(argv, "/usr/bin/node"));
  EXPECT_TRUE(ClientMatcher({"mcp_client"}).matches(argv, "/usr/bin/node"));
  EXPECT_FALSE(ClientMatcher({"mcp_client.js"}).matches(argv, "/usr/bin/node"));
}

TEST(ClientMatcher, NotClients) {
  EXPECT_FALSE(client({"node", "server.js"}, "/usr/bin/node"));
  EXPECT_FALSE(client({"npx", "-y", "@modelcontextprotocol/server-everything"}, "/usr/bin/node"));
  EXPECT_FALSE(client({"bash"}, "/usr/bin/bash"));
  EXPECT_FALSE(client({"codex-helper"}, "/usr/bin/codex-helper"));
  EXPECT_FALSE(client({}, ""));
}

}  // namespace
}  // namespace credtrace::mcp
