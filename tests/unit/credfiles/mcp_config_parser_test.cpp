// Unit tests of MCP config extraction: each client's shape, env/args/headers/url, references, lines, bad input.
#include <gtest/gtest.h>

#include "credfiles/parsers.h"
#include "credfiles_test_util.h"

namespace credtrace::credfiles {
namespace {

using testing::find_key;

std::string mcp_fixture(const std::string& rel) { return std::string(CREDTRACE_FIXTURES) + "/mcp/" + rel; }

ParseResult parse_mcp_fixture(const std::string& rel) {
  std::string path = mcp_fixture(rel);
  return parse_mcp_config(path, testing::read_file(path));
}

TEST(McpConfigParser, ClaudeDesktopEnvAndArgs) {
  ParseResult r = parse_mcp_fixture("claude_desktop/home/.config/Claude/claude_desktop_config.json");
  EXPECT_EQ(r.error, "");
  const Finding* pat = find_key(r, "mcpServers.github.env.GITHUB_PERSONAL_ACCESS_TOKEN");
  ASSERT_NE(pat, nullptr);
  EXPECT_EQ(pat->type, "github_pat");
  EXPECT_EQ(pat->server, "github");
  EXPECT_EQ(pat->line, 7);
  const Finding* pg = find_key(r, "mcpServers.postgres.env.PGPASSWORD");
  ASSERT_NE(pg, nullptr);
  EXPECT_EQ(pg->type, "password");
  EXPECT_EQ(pg->value.view(), "s3cr3t-pg");
  const Finding* url_ref = find_key(r, "mcpServers.postgres.args[6]");  // postgresql://app:${PGPASSWORD}@…
  ASSERT_NE(url_ref, nullptr);
  EXPECT_FALSE(url_ref->is_secret());
  EXPECT_EQ(url_ref->reference, "${PGPASSWORD}");
  EXPECT_EQ(testing::count_secrets(r), 2u);
}

TEST(McpConfigParser, CursorReferencesAndBearerHeader) {
  ParseResult r = parse_mcp_fixture("cursor/home/.cursor/mcp.json");
  const Finding* ref = find_key(r, "mcpServers.brave-search.env.BRAVE_API_KEY");
  ASSERT_NE(ref, nullptr);
  EXPECT_FALSE(ref->is_secret());
  EXPECT_EQ(ref->reference, "${env:BRAVE_API_KEY}");
  EXPECT_EQ(ref->line, 6);
  const Finding* bearer = find_key(r, "mcpServers.remote-notion.headers.Authorization");
  ASSERT_NE(bearer, nullptr);
  EXPECT_EQ(bearer->type, "bearer_token");
  EXPECT_EQ(bearer->value.view(), "ntn_TESTtestTESTtest");  // the token without the scheme
  EXPECT_EQ(bearer->server, "remote-notion");
  EXPECT_EQ(bearer->line, 10);
}

TEST(McpConfigParser, VscodeInputsAndApiKeyHeader) {
  ParseResult r = parse_mcp_fixture("vscode/project/.vscode/mcp.json");
  EXPECT_EQ(r.error, "");
  const Finding* input = find_key(r, "servers.github.env.GITHUB_PERSONAL_ACCESS_TOKEN");
  ASSERT_NE(input, nullptr);
  EXPECT_FALSE(input->is_secret());
  EXPECT_EQ(input->reference, "${input:github-token}");
  EXPECT_EQ(input->line, 18);
  const Finding* key = find_key(r, "servers.url-with-slashes.headers.X-API-Key");
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(key->type, "generic_api_key");
  EXPECT_EQ(key->line, 24);
  EXPECT_EQ(testing::count_secrets(r), 1u);  // "inputs" (password: true) is not a credential
}

TEST(McpConfigParser, ZedNestedCommandArgs) {
  ParseResult r = parse_mcp_fixture("zed/home/.config/zed/settings.json");
  EXPECT_EQ(r.error, "");
  const Finding* db = find_key(r, "context_servers.postgres-context-server.command.args[1]");
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->type, "url_password");
  EXPECT_EQ(db->value.view(), "pw");
  EXPECT_EQ(db->line, 11);
  ASSERT_NE(find_key(r, "context_servers.remote.headers.Authorization"), nullptr);
}

TEST(McpConfigParser, ClaudeCodeProjectsScope) {
  ParseResult r = parse_mcp_fixture("claude_code/home/.claude.json");
  const Finding* gitlab = find_key(r, "projects./home/u/src/api.mcpServers.gitlab.env.GITLAB_PERSONAL_ACCESS_TOKEN");
  ASSERT_NE(gitlab, nullptr);
  EXPECT_EQ(gitlab->type, "gitlab_pat");
  EXPECT_EQ(gitlab->server, "gitlab");
  EXPECT_EQ(gitlab->line, 20);
  const Finding* sentry = find_key(r, "mcpServers.sentry.headers.Authorization");
  ASSERT_NE(sentry, nullptr);
  EXPECT_FALSE(sentry->is_secret());
  EXPECT_EQ(sentry->reference, "${SENTRY_TOKEN}");
  EXPECT_EQ(sentry->line, 8);
}

TEST(McpConfigParser, ContinueYamlList) {
  ParseResult r = parse_mcp_fixture("continue/home/.continue/config.yaml");
  const Finding* ref = find_key(r, "mcpServers[1].env.GITHUB_PERSONAL_ACCESS_TOKEN");
  ASSERT_NE(ref, nullptr);
  EXPECT_EQ(ref->reference, "${{ secrets.GITHUB_TOKEN }}");
  EXPECT_EQ(ref->server, "GitHub");
  EXPECT_EQ(ref->line, 19);
  const Finding* header = find_key(r, "mcpServers[2].requestOptions.headers.Authorization");
  ASSERT_NE(header, nullptr);
  EXPECT_TRUE(header->is_secret());
  EXPECT_EQ(header->line, 25);
  EXPECT_EQ(find_key(r, "mcpServers[3].env.PORT"), nullptr);
}

TEST(McpConfigParser, WindsurfClineGemini) {
  ParseResult windsurf = parse_mcp_fixture("windsurf/home/.codeium/windsurf/mcp_config.json");
  ASSERT_NE(find_key(windsurf, "mcpServers.slack.env.SLACK_BOT_TOKEN"), nullptr);
  EXPECT_EQ(find_key(windsurf, "mcpServers.slack.env.SLACK_TEAM_ID"), nullptr);
  ParseResult cline = parse_mcp_fixture("cline/home/.cline/data/settings/cline_mcp_settings.json");
  ASSERT_NE(find_key(cline, "mcpServers.aws-kb.env.AWS_ACCESS_KEY_ID"), nullptr);
  EXPECT_EQ(find_key(cline, "mcpServers.aws-kb.env.AWS_ACCESS_KEY_ID")->type, "aws_access_key_id");
  EXPECT_EQ(find_key(cline, "mcpServers.aws-kb.env.AWS_SECRET_ACCESS_KEY")->type, "aws_secret_access_key");
  EXPECT_EQ(find_key(cline, "mcpServers.aws-kb.env.AWS_REGION"), nullptr);
  ParseResult gemini = parse_mcp_fixture("gemini_cli/home/.gemini/settings.json");
  const Finding* bare = find_key(gemini, "mcpServers.everything.env.API_KEY");
  ASSERT_NE(bare, nullptr);
  EXPECT_EQ(bare->reference, "$MY_API_TOKEN");
  ASSERT_NE(find_key(gemini, "mcpServers.stream.headers.Authorization"), nullptr);
}

TEST(McpConfigParser, ArgsFlagsAssignmentsAndSecretsOutsideServers) {
  testing::FakeTokens tokens(7);
  std::string pat = tokens.github_pat(), key = tokens.anthropic(), slack = tokens.slack_bot();
  std::string text = "{\n\"primaryApiKey\": \"" + key + "\",\n\"mcpServers\": {\"s\": {\"command\": \"x\",\n" +
                     "\"args\": [\"--api-key\", \"FAKEflagValue1\", \"--token=" + pat + "\", \"-e\", \"SLACK_TOKEN=" +
                     slack + "\", \"--verbose\"]}}}\n";
  ParseResult r = parse_mcp_config("/p/.mcp.json", text);
  EXPECT_EQ(r.error, "");
  const Finding* outside = find_key(r, "primaryApiKey");
  ASSERT_NE(outside, nullptr);
  EXPECT_EQ(outside->type, "anthropic");
  EXPECT_EQ(outside->server, "");
  EXPECT_EQ(outside->line, 2);
  ASSERT_NE(find_key(r, "mcpServers.s.args[1]"), nullptr);
  EXPECT_EQ(find_key(r, "mcpServers.s.args[1]")->value.view(), "FAKEflagValue1");
  ASSERT_NE(find_key(r, "mcpServers.s.args[2]"), nullptr);
  EXPECT_EQ(find_key(r, "mcpServers.s.args[2]")->type, "github_pat");
  ASSERT_NE(find_key(r, "mcpServers.s.args[4]"), nullptr);
  EXPECT_EQ(find_key(r, "mcpServers.s.args[4]")->type, "slack");
  EXPECT_EQ(r.findings.size(), 4u);
  for (const std::string& raw : {pat, key, slack}) EXPECT_EQ(testing::printable_parts(r).find(raw), std::string::npos);
}

TEST(McpConfigParser, MalformedConfigsAreErrorsNotCrashes) {
  for (const char* name : {"bad.yaml", "not_object.json", "servers_is_string.json", "trailing_garbage.json",
                           "truncated.json", "wrong_types.json"}) {
    std::string path = mcp_fixture(std::string("malformed/") + name);
    ParseResult r = parse_mcp_config(path, testing::read_file(path));
    EXPECT_NE(r.error, "") << name;
  }
}

TEST(McpConfigParser, YamlAliasBombIsNotHandedToTheConfigParser) {
  std::string text = "mcpServers:\n  - &a {name: a, args: [x, x, x, x, x, x, x, x, x, x]}\n";
  std::string previous = "a";
  for (char c = 'b'; c <= 'j'; ++c) {
    std::string name(1, c);
    text += "  - &" + name + " [";
    for (int i = 0; i < 10; ++i) text += (i ? ", *" : "*") + previous;
    text += "]\n";
    previous = name;
  }
  ParseResult r = parse_mcp_config("/h/.continue/config.yaml", text);
  EXPECT_NE(r.error.find("yaml nodes"), std::string::npos) << r.error;
}

}  // namespace
}  // namespace credtrace::credfiles
