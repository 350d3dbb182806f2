// Tests of argv and free-text redaction: secret flags, typed tokens, URLs, headers, NAME=VALUE, untouched ordinary text.
#include "secrets/argv_redact.h"

#include <gtest/gtest.h>

#include "test_tokens.h"

namespace credtrace::secrets {
namespace {

using namespace credtrace::secrets::testing;
using Argv = std::vector<std::string>;

void expect_no_raw(const Argv& redacted, std::string_view secret) {
  for (const std::string& arg : redacted) EXPECT_EQ(arg.find(secret), std::string::npos) << arg;
}

TEST(RedactArgv, SecretFlagsWithEqualsOrNextArg) {
  Argv argv = {"mcp-server", "--token=s3cretvalue1", "--api-key", "k3y-value-123", "--password", "hunter2!!",
               "--verbose"};
  EXPECT_EQ(redact_argv(argv), (Argv{"mcp-server", "--token=<redacted:generic_token>", "--api-key",
                                     "<redacted:generic_api_key>", "--password", "<redacted:password>", "--verbose"}));
}

TEST(RedactArgv, TypedValueOfSecretFlagKeepsItsType) {
  std::mt19937 rng(61);
  std::string token = github_pat(rng);
  Argv redacted = redact_argv({"gh-mcp", "--github-token", token});
  EXPECT_EQ(redacted[2], "<redacted:github_pat>");
}

TEST(RedactArgv, SecretFlagFollowedByLongOptionConsumesNothing) {
  Argv argv = {"tool", "--token", "--verbose", "file.txt"};
  EXPECT_EQ(redact_argv(argv), argv);
}

TEST(RedactArgv, NonSecretFlagsAndPlaceholdersUnchanged) {
  Argv argv = {"npx", "-y", "@modelcontextprotocol/server-github", "--port", "8080", "--token-file",
               "/run/secrets/gh", "--max-tokens=4096", "--token", "${GITHUB_TOKEN}", "-p", "3000"};
  EXPECT_EQ(redact_argv(argv), argv);
}

TEST(RedactArgv, WholeArgTypedCredentialAndEmbeddedOnes) {
  std::mt19937 rng(62);
  std::string anthropic = anthropic_key(rng);
  std::string github = github_pat(rng);
  Argv argv = {"python", "server.py", anthropic, "--header=X-Extra: " + github, R"({"key":")" + github + R"("})"};
  Argv redacted = redact_argv(argv);
  EXPECT_EQ(redacted[2], "<redacted:anthropic>");
  EXPECT_EQ(redacted[3], "--header=X-Extra: <redacted:github_pat>");
  EXPECT_EQ(redacted[4], R"({"key":"<redacted:github_pat>"})");
  expect_no_raw(redacted, anthropic);
  expect_no_raw(redacted, github);
}

TEST(RedactArgv, UrlUserinfoPasswordAndSecretQueryParameters) {
  Argv redacted = redact_argv({"psql", "postgres://app:Sup3rS3cret@db.internal:5432/app?sslmode=require",
                               "--url=https://api.example.com/v1?key=AbC123xyz&limit=5&access_token=tok_999#frag",
                               "https://example.com/path?token="});
  EXPECT_EQ(redacted[1], "postgres://app:****@db.internal:5432/app?sslmode=require");
  EXPECT_EQ(redacted[2], "--url=https://api.example.com/v1?key=****&limit=5&access_token=****#frag");
  EXPECT_EQ(redacted[3], "https://example.com/path?token=");
  expect_no_raw(redacted, "Sup3rS3cret");
}

TEST(RedactArgv, UrlWithoutPasswordUnchanged) {
  Argv argv = {"git", "clone", "https://user@github.com/acme/app.git", "https://github.com/acme/app?tab=readme"};
  EXPECT_EQ(redact_argv(argv), argv);
}

TEST(RedactArgv, EnvAssignmentsAsInEnvAndDockerE) {
  std::mt19937 rng(63);
  std::string openai = openai_project_key(rng, "sk-proj-", 74);
  Argv argv = {"docker", "run", "-e", "OPENAI_API_KEY=" + openai, "-e", "DB_PASSWORD=s3cr3t-Pa55", "-e",
               "LOG_LEVEL=debug", "-e", "GITHUB_TOKEN=${GITHUB_TOKEN}", "image"};
  Argv redacted = redact_argv(argv);
  EXPECT_EQ(redacted[3], "OPENAI_API_KEY=<redacted:openai>");
  EXPECT_EQ(redacted[5], "DB_PASSWORD=<redacted:password>");
  EXPECT_EQ(redacted[7], "LOG_LEVEL=debug");
  EXPECT_EQ(redacted[9], "GITHUB_TOKEN=${GITHUB_TOKEN}");
  expect_no_raw(redacted, openai);
}

TEST(RedactArgv, EnvAssignmentsInsideFlags) {
  Argv redacted = redact_argv({"docker", "run", "--env=DB_PASSWORD=s3cr3t-Pa55", "-eAPI_TOKEN=abcdef123456",
                               "--env=LOG_LEVEL=debug", "--header=x-api-key: 0123456789abcdef",
                               "-Dspring.datasource.password=Sup3rS3cret", "-Dserver.port=8080"});
  EXPECT_EQ(redacted[2], "--env=DB_PASSWORD=<redacted:password>");
  EXPECT_EQ(redacted[3], "-eAPI_TOKEN=<redacted:generic_token>");
  EXPECT_EQ(redacted[4], "--env=LOG_LEVEL=debug");
  EXPECT_EQ(redacted[5], "--header=x-api-key: <redacted:header_credential>");
  EXPECT_EQ(redacted[6], "-Dspring.datasource.password=<redacted:password>");
  EXPECT_EQ(redacted[7], "-Dserver.port=8080");
}

TEST(RedactArgv, CredentialHeadersAndBearerInShellStrings) {
  Argv redacted = redact_argv({"curl", "-H", "Authorization: Bearer opaque-token-12345", "-H",
                               "x-api-key: 0123456789abcdef", "-H", "Accept: application/json"});
  EXPECT_EQ(redacted[2], "Authorization: Bearer <redacted:header_credential>");
  EXPECT_EQ(redacted[4], "x-api-key: <redacted:header_credential>");
  EXPECT_EQ(redacted[6], "Accept: application/json");

  Argv shell = redact_argv({"sh", "-c", "curl -H 'Authorization: Bearer opaque-token-12345' https://x"});
  EXPECT_EQ(shell[2], "curl -H 'Authorization: Bearer <redacted:bearer_token>' https://x");
}

TEST(RedactArgv, CurlUserPassword) {
  Argv redacted = redact_argv({"curl", "-u", "alice:wonderland", "--user=bob:builder", "https://x"});
  EXPECT_EQ(redacted[2], "alice:****");
  EXPECT_EQ(redacted[3], "--user=bob:****");
}

TEST(RedactArgv, MysqlAndSshpassPasswords) {
  EXPECT_EQ(redact_argv({"/usr/bin/mysql", "-uroot", "-pS3cret", "db"}),
            (Argv{"/usr/bin/mysql", "-uroot", "-p<redacted:password>", "db"}));
  EXPECT_EQ(redact_argv({"sshpass", "-p", "S3cret", "ssh", "host"}),
            (Argv{"sshpass", "-p", "<redacted:password>", "ssh", "host"}));
  Argv docker = {"docker", "run", "-p8080:80", "nginx"};
  EXPECT_EQ(redact_argv(docker), docker);
}

TEST(RedactArgv, EmptyAndOrdinaryArgv) {
  EXPECT_TRUE(redact_argv({}).empty());
  Argv argv = {"node", "/opt/mcp/index.js", "--stdio", "--config", "/etc/mcp.json", "hello world"};
  EXPECT_EQ(redact_argv(argv), argv);
}

TEST(RedactText, TypedTokensUrlPasswordsBearerAndAssignmentsInProse) {
  std::mt19937 rng(71);
  std::string pat = github_pat(rng);
  std::string openai = openai_project_key(rng, "sk-proj-", 74);
  std::string text = "request to https://app:Sup3rS3cret@db.internal/x failed (token " + pat + ", " +
                     "Authorization: Bearer abcdef0123456789, OPENAI_API_KEY=" + openai + ", DB_PASSWORD=s3cr3t-Pa55)";
  std::string redacted = redact_text(text);
  EXPECT_EQ(redacted, "request to https://app:****@db.internal/x failed (token <redacted:github_pat>, "
                      "Authorization: Bearer <redacted:bearer_token>, OPENAI_API_KEY=<redacted:openai>, "
                      "DB_PASSWORD=<redacted:password>)");
  for (std::string_view secret : {std::string_view(pat), std::string_view(openai), std::string_view("Sup3rS3cret"),
                                  std::string_view("abcdef0123456789"), std::string_view("s3cr3t-Pa55")})
    EXPECT_EQ(redacted.find(secret), std::string::npos) << redacted;
}

TEST(RedactText, OrdinaryDiagnosticsUnchanged) {
  for (std::string_view text : {
           "--tls-cert and --tls-key go together",
           "--client-ca needs --tls-cert and --tls-key: client certificates are only asked for over HTTPS",
           "ingest rejected (unauthorized): missing agent bearer token or client certificate (mTLS)",
           "client certificate from 127.0.0.1 (subject \"CN=agent-1\", sha256 "
           "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08) verified",
           "listening on https://127.0.0.1:8787 (db sqlite:/var/lib/x/collector.db, 1 agent tokens, 0 reader tokens)",
           "collector sink: 3 spooled batches (4096 bytes) to replay, next sequence 1717171717171717",
           "token file /etc/credtrace/tokens is readable by every user; chmod o-r it",
           "max_tokens=4096 LOG_LEVEL=debug GITHUB_TOKEN=${GITHUB_TOKEN} token_file=/run/secrets/gh",
       })
    EXPECT_EQ(redact_text(text), text);
}

}  // namespace
}  // namespace credtrace::secrets
