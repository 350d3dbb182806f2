// Tests for MCP client config parsing: every client's shape, JSONC, YAML, malformed input; client names and detection.
#include "mcp/client_config.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <string>

namespace credtrace::mcp {
namespace {

std::string fixture(const std::string& rel) { return std::string(CREDTRACE_FIXTURES) + "/mcp/" + rel; }

const ServerEntry* find(const ConfigParseResult& r, const std::string& name) {
  auto it = std::find_if(r.servers.begin(), r.servers.end(), [&](const ServerEntry& e) { return e.name == name; });
  return it == r.servers.end() ? nullptr : &*it;
}

std::string env_of(const ServerEntry& e, const std::string& key) {
  for (const auto& [k, v] : e.env) {
    if (k == key) return v;
  }
  return "<missing>";
}

using Args = std::vector<std::string>;

// ---- client names and client detection: one row per client / path ----

struct ClientNameCase {
  Client client;
  std::string name;  // also the test name: AllClients/ClientName.Is/<name>
};

void PrintTo(const ClientNameCase& c, std::ostream* os) { *os << c.name; }

class ClientName : public ::testing::TestWithParam<ClientNameCase> {};

TEST_P(ClientName, Is) { EXPECT_EQ(client_name(GetParam().client), GetParam().name); }

INSTANTIATE_TEST_SUITE_P(AllClients, ClientName,
                         ::testing::Values(ClientNameCase{Client::claude_desktop, "claude_desktop"},
                                           ClientNameCase{Client::claude_code, "claude_code"},
                                           ClientNameCase{Client::cursor, "cursor"},
                                           ClientNameCase{Client::vscode, "vscode"},
                                           ClientNameCase{Client::windsurf, "windsurf"},
                                           ClientNameCase{Client::cline, "cline"},
                                           ClientNameCase{Client::gemini_cli, "gemini_cli"},
                                           ClientNameCase{Client::zed, "zed"},
                                           ClientNameCase{Client::continue_dev, "continue"},
                                           ClientNameCase{Client::unknown, "unknown"}),
                         [](const ::testing::TestParamInfo<ClientNameCase>& info) { return info.param.name; });

struct DetectCase {
  std::string name;  // the test name: KnownPaths/DetectClient.From/<name> (or UnrelatedPaths/...)
  std::string path;
  Client expected;
};

void PrintTo(const DetectCase& c, std::ostream* os) { *os << c.name << " (" << c.path << ")"; }

class DetectClient : public ::testing::TestWithParam<DetectCase> {};

TEST_P(DetectClient, From) { EXPECT_EQ(detect_client(GetParam().path), GetParam().expected); }

std::string detect_case_name(const ::testing::TestParamInfo<DetectCase>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(
    KnownPaths, DetectClient,
    ::testing::Values(
        DetectCase{"claude_desktop", "/home/u/.config/Claude/claude_desktop_config.json", Client::claude_desktop},
        DetectCase{"claude_code_user", "/home/u/.claude.json", Client::claude_code},
        DetectCase{"claude_code_project", "/home/u/src/api/.mcp.json", Client::claude_code},
        DetectCase{"claude_code_managed", "/etc/claude-code/managed-mcp.json", Client::claude_code},
        DetectCase{"cursor_user", "/home/u/.cursor/mcp.json", Client::cursor},
        DetectCase{"cursor_project", "/home/u/src/api/.cursor/mcp.json", Client::cursor},
        DetectCase{"vscode_project", "/home/u/src/api/.vscode/mcp.json", Client::vscode},
        DetectCase{"vscode_user", "/home/u/.config/Code/User/mcp.json", Client::vscode},
        DetectCase{"vscode_insiders_user", "/home/u/.config/Code - Insiders/User/mcp.json", Client::vscode},
        DetectCase{"vscodium_profile", "/home/u/.config/VSCodium/User/profiles/abc123/mcp.json", Client::vscode},
        DetectCase{"windsurf", "/home/u/.codeium/windsurf/mcp_config.json", Client::windsurf},
        DetectCase{"cline_vscode_extension",
                   "/home/u/.config/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json",
                   Client::cline},
        DetectCase{"cline_cli", "/home/u/.cline/data/settings/cline_mcp_settings.json", Client::cline},
        DetectCase{"gemini_cli", "/home/u/.gemini/settings.json", Client::gemini_cli},
        DetectCase{"zed_user", "/home/u/.config/zed/settings.json", Client::zed},
        DetectCase{"zed_project", "/home/u/src/api/.zed/settings.json", Client::zed},
        DetectCase{"continue_config_yaml", "/home/u/.continue/config.yaml", Client::continue_dev},
        DetectCase{"continue_user_servers_dir", "/home/u/.continue/mcpServers/db.yaml", Client::continue_dev},
        DetectCase{"continue_project_servers_dir", "/home/u/src/api/.continue/mcpServers/db.json",
                   Client::continue_dev}),
    detect_case_name);

INSTANTIATE_TEST_SUITE_P(
    UnrelatedPaths, DetectClient,
    ::testing::Values(DetectCase{"mcp_json_in_home", "/home/u/mcp.json", Client::unknown},
                      DetectCase{"settings_json_in_config", "/home/u/.config/settings.json", Client::unknown},
                      DetectCase{"readme_in_continue_servers_dir", "/home/u/.continue/mcpServers/README.md",
                                 Client::unknown},
                      DetectCase{"vscode_settings_json_in_home", "/home/u/.vscode/settings.json", Client::unknown},
                      DetectCase{"empty_path", "", Client::unknown}),
    detect_case_name);

// ---- one fixture per client's config shape ----

TEST(ParseClaudeDesktop, McpServersWithEnvAndDisabled) {
  auto r = parse_client_config_file(fixture("claude_desktop/home/.config/Claude/claude_desktop_config.json"));
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.servers.size(), 3u);
  const ServerEntry& gh = r.servers[0];
  EXPECT_EQ(gh.client, Client::claude_desktop);
  EXPECT_EQ(gh.name, "github");
  EXPECT_EQ(gh.field_path, "mcpServers.github");
  EXPECT_EQ(gh.transport, "stdio");
  EXPECT_EQ(gh.command, "npx");
  EXPECT_EQ(gh.args, (Args{"-y", "@modelcontextprotocol/server-github"}));
  EXPECT_EQ(env_of(gh, "GITHUB_PERSONAL_ACCESS_TOKEN"), "ghp_TESTtestTESTtestTESTtestTESTtest1234");
  EXPECT_FALSE(gh.disabled);
  EXPECT_NE(gh.config_path.find("claude_desktop_config.json"), std::string::npos);
  EXPECT_EQ(r.servers[1].name, "filesystem");  // file order kept
  EXPECT_EQ(r.servers[1].args.size(), 4u);
  const ServerEntry& pg = r.servers[2];
  EXPECT_TRUE(pg.disabled);
  EXPECT_EQ(pg.args.back(), "postgresql://app:${PGPASSWORD}@db.internal:5432/app");  // verbatim
}

TEST(ParseClaudeCode, UserAndProjectScopes) {
  auto r = parse_client_config_file(fixture("claude_code/home/.claude.json"));
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.servers.size(), 2u);
  const ServerEntry* sentry = find(r, "sentry");
  ASSERT_NE(sentry, nullptr);
  EXPECT_EQ(sentry->field_path, "mcpServers.sentry");
  EXPECT_EQ(sentry->transport, "http");
  EXPECT_EQ(sentry->url, "https://mcp.sentry.dev/mcp");
  ASSERT_EQ(sentry->headers.size(), 1u);
  EXPECT_EQ(sentry->headers[0], (std::pair<std::string, std::string>{"Authorization", "Bearer ${SENTRY_TOKEN}"}));
  const ServerEntry* gitlab = find(r, "gitlab");
  ASSERT_NE(gitlab, nullptr);
  EXPECT_EQ(gitlab->field_path, "projects./home/u/src/api.mcpServers.gitlab");
  EXPECT_EQ(gitlab->client, Client::claude_code);
  EXPECT_EQ(env_of(*gitlab, "GITLAB_API_URL"), "https://gitlab.example.com/api/v4");
}

TEST(ParseClaudeCode, ProjectMcpJson) {
  auto r = parse_client_config_file(fixture("claude_code/project/.mcp.json"));
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.servers.size(), 2u);
  EXPECT_EQ(r.servers[0].command, "uvx");
  EXPECT_EQ(r.servers[0].transport, "stdio");
  EXPECT_EQ(r.servers[1].transport, "sse");
  EXPECT_EQ(r.servers[1].url, "https://mcp.linear.app/sse");
}

TEST(ParseCursor, CommandUrlAndCwd) {
  auto r = parse_client_config_file(fixture("cursor/home/.cursor/mcp.json"));
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.servers.size(), 3u);
  EXPECT_EQ(r.servers[0].client, Client::cursor);
  EXPECT_EQ(env_of(r.servers[0], "BRAVE_API_KEY"), "${env:BRAVE_API_KEY}");
  const ServerEntry* notion = find(r, "remote-notion");
  ASSERT_NE(notion, nullptr);
  EXPECT_EQ(notion->transport, "http");  // inferred from url
  EXPECT_TRUE(notion->command.empty());
  EXPECT_EQ(notion->headers.at(0).second, "Bearer ntn_TESTtestTESTtest");
  EXPECT_EQ(find(r, "local-python")->cwd, "/home/u/src/api");
}

TEST(ParseVscode, JsoncWithCommentsTrailingCommasAndInputs) {
  auto r = parse_client_config_file(fixture("vscode/project/.vscode/mcp.json"));
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.servers.size(), 2u);  // inputs ignored
  const ServerEntry& gh = r.servers[0];
  EXPECT_EQ(gh.client, Client::vscode);
  EXPECT_EQ(gh.field_path, "servers.github");
  EXPECT_EQ(gh.command, "docker");
  EXPECT_EQ(env_of(gh, "GITHUB_PERSONAL_ACCESS_TOKEN"), "${input:github-token}");
  const ServerEntry& remote = r.servers[1];
  EXPECT_EQ(remote.url, "https://api.example.com/mcp//v1");  // "//" inside strings survives
  EXPECT_EQ(remote.headers.at(0).second, "key-with-,}-inside");
  EXPECT_EQ(remote.transport, "http");
}

TEST(ParseVscode, UserProfileFile) {
  auto r = parse_client_config_file(fixture("vscode/home/.config/Code/User/mcp.json"));
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.servers.size(), 1u);
  EXPECT_EQ(r.servers[0].client, Client::vscode);
  EXPECT_EQ(r.servers[0].name, "memory");
}

TEST(ParseVscode, SettingsJsonMcpBlock) {
  auto r = parse_client_config("/x/settings.json", R"({"mcp": {"servers": {"a": {"command": "mcp-server-a"}}}})",
                               Client::vscode);
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.servers.size(), 1u);
  EXPECT_EQ(r.servers[0].field_path, "mcp.servers.a");
}

TEST(ParseWindsurf, ServerUrl) {
  auto r = parse_client_config_file(fixture("windsurf/home/.codeium/windsurf/mcp_config.json"));
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.servers.size(), 2u);
  EXPECT_EQ(r.servers[0].client, Client::windsurf);
  EXPECT_EQ(env_of(r.servers[0], "SLACK_TEAM_ID"), "T01234567");
  EXPECT_EQ(r.servers[1].url, "https://mcp.figma.example/mcp");
  EXPECT_EQ(r.servers[1].transport, "http");
}

TEST(ParseCline, TypeStreamableHttpAndDisabled) {
  auto r = parse_client_config_file(fixture("cline/home/.cline/data/settings/cline_mcp_settings.json"));
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.servers.size(), 2u);
  EXPECT_EQ(r.servers[0].client, Client::cline);
  EXPECT_EQ(r.servers[0].env.size(), 3u);
  EXPECT_FALSE(r.servers[0].disabled);
  EXPECT_EQ(r.servers[1].transport, "http");
  EXPECT_TRUE(r.servers[1].disabled);
}

TEST(ParseGemini, HttpUrlAndSseUrl) {
  auto r = parse_client_config_file(fixture("gemini_cli/home/.gemini/settings.json"));
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.servers.size(), 3u);
  EXPECT_EQ(r.servers[0].client, Client::gemini_cli);
  EXPECT_EQ(env_of(r.servers[0], "API_KEY"), "$MY_API_TOKEN");
  EXPECT_EQ(r.servers[1].url, "https://mcp.example.com/mcp");
  EXPECT_EQ(r.servers[1].transport, "http");
  EXPECT_EQ(r.servers[2].transport, "sse");  // Gemini's "url" is an SSE endpoint
}

TEST(ParseZed, NestedAndFlatCommandsInJsonc) {
  auto r = parse_client_config_file(fixture("zed/home/.config/zed/settings.json"));
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.servers.size(), 4u);
  const ServerEntry& pg = r.servers[0];
  EXPECT_EQ(pg.client, Client::zed);
  EXPECT_EQ(pg.field_path, "context_servers.postgres-context-server");
  EXPECT_EQ(pg.command, "/home/u/.local/share/zed/extensions/work/postgres/server");
  EXPECT_EQ(pg.args, (Args{"--db", "postgresql://ro:pw@localhost/app"}));
  EXPECT_EQ(env_of(pg, "PGSSLMODE"), "disable");
  EXPECT_EQ(pg.transport, "stdio");
  const ServerEntry& sqlite = r.servers[1];
  EXPECT_EQ(sqlite.command, "uvx");
  EXPECT_EQ(sqlite.args.size(), 3u);
  EXPECT_TRUE(sqlite.env.empty());
  EXPECT_EQ(r.servers[2].url, "https://mcp.example.com/sse");
  EXPECT_TRUE(r.servers[3].disabled);  // "enabled": false
}

TEST(ParseContinue, ConfigYamlList) {
  auto r = parse_client_config_file(fixture("continue/home/.continue/config.yaml"));
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.servers.size(), 4u);
  const ServerEntry& sqlite = r.servers[0];
  EXPECT_EQ(sqlite.client, Client::continue_dev);
  EXPECT_EQ(sqlite.name, "SQLite");
  EXPECT_EQ(sqlite.field_path, "mcpServers[0]");
  EXPECT_EQ(sqlite.args, (Args{"-y", "mcp-sqlite", "/home/u/db.sqlite"}));
  const ServerEntry& gh = r.servers[1];
  EXPECT_EQ(gh.field_path, "mcpServers[1]");
  EXPECT_EQ(gh.args.size(), 6u);
  EXPECT_EQ(env_of(gh, "GITHUB_PERSONAL_ACCESS_TOKEN"), "${{ secrets.GITHUB_TOKEN }}");
  const ServerEntry& remote = r.servers[2];
  EXPECT_EQ(remote.transport, "http");
  EXPECT_EQ(remote.headers.at(0).second, "Bearer cont-TESTtest");
  EXPECT_EQ(env_of(r.servers[3], "PORT"), "0123");  // scalars verbatim, not re-typed
}

TEST(ParseContinue, McpServersDirectoryYamlAndJson) {
  auto y = parse_client_config_file(fixture("continue/home/.continue/mcpServers/playwright.yaml"));
  ASSERT_EQ(y.error, "");
  ASSERT_EQ(y.servers.size(), 1u);
  EXPECT_EQ(y.servers[0].name, "Browser search");
  EXPECT_EQ(y.servers[0].args, (Args{"@playwright/mcp@latest"}));
  auto j = parse_client_config_file(fixture("continue/home/.continue/mcpServers/claude-shape.json"));
  ASSERT_EQ(j.error, "");
  ASSERT_EQ(j.servers.size(), 1u);
  EXPECT_EQ(j.servers[0].client, Client::continue_dev);
  EXPECT_EQ(j.servers[0].field_path, "mcpServers.time");
}

TEST(ParseMalformed, TruncatedJsonGivesErrorWithoutContent) {
  auto r = parse_client_config_file(fixture("malformed/truncated.json"));
  EXPECT_TRUE(r.servers.empty());
  EXPECT_NE(r.error.find("json parse error"), std::string::npos);
  EXPECT_EQ(r.error.find("LEAK"), std::string::npos);  // no raw content in error strings
}

TEST(ParseMalformed, TrailingGarbageErrorHasNoSecret) {
  auto r = parse_client_config_file(fixture("malformed/trailing_garbage.json"));
  EXPECT_FALSE(r.error.empty());
  EXPECT_EQ(r.error.find("ghp_"), std::string::npos);
  EXPECT_EQ(r.error.find("garbage"), std::string::npos);
}

TEST(ParseMalformed, WrongTypesKeepGoodEntries) {
  auto r = parse_client_config_file(fixture("malformed/wrong_types.json"));
  ASSERT_EQ(r.servers.size(), 1u);
  EXPECT_EQ(r.servers[0].args, (Args{"--single"}));
  EXPECT_EQ(env_of(r.servers[0], "N"), "5");
  EXPECT_EQ(env_of(r.servers[0], "B"), "true");
  EXPECT_EQ(env_of(r.servers[0], "NESTED"), "");
  EXPECT_NE(r.error.find("mcpServers.bad: entry is not an object"), std::string::npos);
  EXPECT_NE(r.error.find("mcpServers.list"), std::string::npos);
}

TEST(ParseMalformed, TopLevelNotObject) {
  auto r = parse_client_config_file(fixture("malformed/not_object.json"));
  EXPECT_TRUE(r.servers.empty());
  EXPECT_EQ(r.error, "top-level value is not an object");
}

TEST(ParseMalformed, ServersNotAnObject) {
  auto r = parse_client_config_file(fixture("malformed/servers_is_string.json"));
  EXPECT_TRUE(r.servers.empty());
  EXPECT_EQ(r.error, "mcpServers: not an object or list");
}

TEST(ParseMalformed, BadYaml) {
  std::ifstream in(fixture("malformed/bad.yaml"));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto r = parse_client_config("/h/.continue/config.yaml", text, Client::continue_dev);
  EXPECT_TRUE(r.servers.empty());
  EXPECT_NE(r.error.find("yaml parse error"), std::string::npos);
  EXPECT_EQ(r.error.find("unclosed"), std::string::npos);
}

TEST(ParseMalformed, EmptyAndMissingFiles) {
  EXPECT_EQ(parse_client_config("/h/.cursor/mcp.json", "  \n", Client::cursor).error, "empty file");
  EXPECT_EQ(parse_client_config_file(fixture("does/not/exist.json")).error, "not a regular file");
  EXPECT_EQ(parse_client_config_file(fixture("cursor/home/.cursor")).error, "not a regular file");
}

TEST(ParseMalformed, SizeLimit) {
  auto r = parse_client_config_file(fixture("cursor/home/.cursor/mcp.json"), 16);
  EXPECT_TRUE(r.servers.empty());
  EXPECT_EQ(r.error, "file larger than 16 bytes");
}

TEST(ParseMalformed, DeepNestingDoesNotCrash) {
  std::string deep = R"({"mcpServers": {"x": {"command": "a", "env": {"K": )" + std::string(100000, '[') +
                     std::string(100000, ']') + "}}}}";
  auto r = parse_client_config("/h/.cursor/mcp.json", deep, Client::cursor);
  ASSERT_EQ(r.servers.size(), 1u);
  EXPECT_EQ(env_of(r.servers[0], "K"), "");
  std::string deep_yaml = "mcpServers:\n  - name: x\n    args: " + std::string(200, '[') + std::string(200, ']') + "\n";
  auto y = parse_client_config("/h/.continue/config.yaml", deep_yaml, Client::continue_dev);
  EXPECT_TRUE(y.error.empty() || y.error.find("yaml") != std::string::npos);
}

// Deterministic mutations of a real config: never a crash, and errors never quote the secret in it.
TEST(ParseMalformed, MutatedInputsNeverLeakContentIntoErrors) {
  std::ifstream in(fixture("claude_desktop/home/.config/Claude/claude_desktop_config.json"));
  const std::string original((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  uint32_t state = 12345;
  auto next = [&] { return state = state * 1103515245u + 12345u; };
  size_t errors = 0;
  for (int round = 0; round < 2000; ++round) {
    std::string text = original.substr(0, next() % (original.size() + 1));
    for (int flips = next() % 4; flips > 0 && !text.empty(); --flips) text[next() % text.size()] = static_cast<char>(next() >> 24);
    for (Client c : {Client::claude_desktop, Client::zed, Client::unknown}) {
      auto r = parse_client_config(round % 2 ? "/h/x.json" : "/h/x.yaml", text, c);
      EXPECT_EQ(r.error.find("TESTtest"), std::string::npos);
      EXPECT_EQ(r.error.find("s3cr3t"), std::string::npos);
      errors += r.error.empty() ? 0 : 1;
    }
  }
  EXPECT_GT(errors, 0u);
}

TEST(ParseUnknown, TriesEveryShape) {
  auto r = parse_client_config("/x/custom.json",
                               R"({"servers": {"a": {"command": "x"}}, "context_servers": {"b": {"url": "https://b"}}})",
                               Client::unknown);
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.servers.size(), 2u);
  EXPECT_EQ(r.servers[0].field_path, "servers.a");
  EXPECT_EQ(r.servers[1].field_path, "context_servers.b");
}

TEST(ParseShapes, ClientSpecificKeysIgnoredElsewhere) {
  auto r = parse_client_config("/h/.cursor/mcp.json", R"({"servers": {"a": {"command": "x"}}, "projects": {}})",
                               Client::cursor);
  EXPECT_EQ(r.error, "");
  EXPECT_TRUE(r.servers.empty());
}

TEST(ParseShapes, Utf8BomAndBlockCommentAtEnd) {
  auto r = parse_client_config("/h/.cursor/mcp.json", "\xEF\xBB\xBF{\"mcpServers\": {\"a\": {\"command\": \"x\"}}} /* end */",
                               Client::cursor);
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.servers.size(), 1u);
}

TEST(ParseShapes, YamlChosenByExtension) {
  auto r = parse_client_config("/x/servers.yaml", "mcpServers:\n  - name: a\n    command: mcp-server-a\n", Client::unknown);
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.servers.size(), 1u);
  EXPECT_EQ(r.servers[0].command, "mcp-server-a");
  EXPECT_EQ(r.servers[0].transport, "stdio");
}

TEST(ParseShapes, UnterminatedCommentAndStringAreErrors) {
  EXPECT_FALSE(parse_client_config("/h/.zed/settings.json", "{\"context_servers\": {} /* open", Client::zed).error.empty());
  EXPECT_FALSE(parse_client_config("/h/.zed/settings.json", "{\"a\": \"open", Client::zed).error.empty());
}

TEST(ParseShapes, CommandWithoutTransportOrUrl) {
  auto r = parse_client_config("/h/.cursor/mcp.json", R"({"mcpServers": {"empty": {}}})", Client::cursor);
  ASSERT_EQ(r.servers.size(), 1u);
  EXPECT_EQ(r.servers[0].transport, "");
}

}  // namespace
}  // namespace credtrace::mcp
