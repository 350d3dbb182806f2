// Unit tests of credential path patterns: the defaults, '~' as any home, anchoring, '**', excludes, formats.
#include <gtest/gtest.h>

#include "credfiles/path_patterns.h"
#include "mcp/client_config.h"

namespace credtrace::credfiles {
namespace {

std::optional<PathMatch> match(std::string_view path) {
  static const std::vector<PathPattern> patterns = default_credential_path_patterns();
  return match_credential_path(path, patterns);
}

void expect_kind(std::string_view path, std::string_view kind, Format format) {
  std::optional<PathMatch> m = match(path);
  ASSERT_TRUE(m.has_value()) << path;
  EXPECT_EQ(m->kind, kind) << path;
  EXPECT_EQ(m->format, format) << path;
}

TEST(PathPatterns, CredentialFilesInAnyHome) {
  expect_kind("/home/ana/.aws/credentials", "aws_credentials", Format::ini);
  expect_kind("/root/.aws/config", "aws_config", Format::ini);
  expect_kind("/var/lib/jenkins/.config/gh/hosts.yml", "gh_hosts", Format::yaml);
  expect_kind("/home/u/.docker/config.json", "docker_config", Format::json);
  expect_kind("/home/u/.kube/config", "kubeconfig", Format::yaml);
  expect_kind("/etc/kubernetes/admin.conf", "kubeconfig", Format::yaml);
  expect_kind("/home/u/.netrc", "netrc", Format::netrc);
  expect_kind("/srv/app/.npmrc", "npmrc", Format::npmrc);
  expect_kind("/home/u/.pypirc", "pypirc", Format::ini);
  expect_kind("/home/u/.git-credentials", "git_credentials", Format::git_credentials);
  expect_kind("/home/u/.config/gcloud/application_default_credentials.json", "gcloud_adc", Format::json);
  expect_kind("/home/u/.config/gcloud/legacy_credentials/me@x.com/adc.json", "gcloud_adc", Format::json);
  expect_kind("/opt/app/prod-service-account.json", "gcloud_service_account", Format::json);
  expect_kind("/home/u/.azure/msal_token_cache.json", "azure_token_cache", Format::json);
  expect_kind("/home/u/.azure/accessTokens.json", "azure_token_cache", Format::json);
  expect_kind("/home/u/.ssh/id_ed25519", "ssh_private_key", Format::pem);
  expect_kind("/etc/ssl/private/server.key", "private_key_file", Format::pem);
  expect_kind("/srv/tls/bundle.pem", "pem", Format::pem);
  expect_kind("/var/run/secrets/kubernetes.io/serviceaccount/token", "kubernetes_sa_token", Format::token);
  expect_kind("/run/secrets/db_password", "container_secret", Format::token);
  expect_kind("/srv/app/.env", "dotenv", Format::dotenv);
  expect_kind("relative/dir/.env.production", "dotenv", Format::dotenv);
}

TEST(PathPatterns, NotCredentialFiles) {
  EXPECT_FALSE(match("/home/u/.ssh/id_ed25519.pub"));  // excluded: public key
  EXPECT_FALSE(match("/home/u/.ssh/known_hosts"));
  EXPECT_FALSE(match("/home/u/aws/credentials"));      // not the .aws directory
  EXPECT_FALSE(match("/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"));
  EXPECT_FALSE(match("/run/secrets/nested/deeper"));   // '*' stays in one component
  EXPECT_FALSE(match("/home/u/project/environment.txt"));
  EXPECT_FALSE(match("run/secrets/x"));                // absolute patterns need absolute paths
}

TEST(PathPatterns, EveryMcpClientConfigLocation) {
  for (const mcp::ConfigLocation& location : mcp::user_config_locations("/home/u")) {
    std::optional<PathMatch> m = match(location.path);
    ASSERT_TRUE(m.has_value()) << location.path;
    EXPECT_EQ(m->format, Format::mcp_config) << location.path;
  }
  for (const mcp::ConfigLocation& location : mcp::project_config_locations("/src/p")) {
    std::optional<PathMatch> m = match(location.path);
    ASSERT_TRUE(m.has_value()) << location.path;
    EXPECT_EQ(m->format, Format::mcp_config) << location.path;
  }
  expect_kind("/h/.continue/mcpServers/browser.yaml", "mcp_config", Format::mcp_config);
  expect_kind("/h/.config/Code/User/profiles/abc/mcp.json", "mcp_config", Format::mcp_config);
}

TEST(PathPatterns, GlobSyntax) {
  EXPECT_TRUE(path_glob_matches("/a/**/c", "/a/c"));
  EXPECT_TRUE(path_glob_matches("/a/**/c", "/a/b/b/c"));
  EXPECT_FALSE(path_glob_matches("/a/*/c", "/a/b/b/c"));
  EXPECT_TRUE(path_glob_matches("id_[re]*", "/h/.ssh/id_rsa"));
  EXPECT_TRUE(path_glob_matches("~/.netrc", "/h//./.netrc"));
  EXPECT_FALSE(path_glob_matches("", "/x"));
}

TEST(PathPatterns, ConfigurableListAndExcludes) {
  std::vector<PathPattern> patterns = {{"!**/test/**", "", Format::text}, {"*.secret", "custom", Format::token}};
  EXPECT_TRUE(match_credential_path("/srv/a.secret", patterns));
  EXPECT_FALSE(match_credential_path("/srv/test/a.secret", patterns));
  EXPECT_FALSE(match_credential_path("/srv/a.txt", patterns));
}

TEST(PathPatterns, FormatNamesRoundTrip) {
  for (Format f : {Format::ini, Format::json, Format::yaml, Format::dotenv, Format::pem, Format::netrc, Format::npmrc,
                   Format::git_credentials, Format::token, Format::text, Format::mcp_config}) {
    EXPECT_EQ(parse_format(format_name(f)), f);
  }
  EXPECT_FALSE(parse_format("toml"));
}

}  // namespace
}  // namespace credtrace::credfiles
