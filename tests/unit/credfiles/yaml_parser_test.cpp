// Unit tests of the YAML parser: GitHub CLI hosts.yml, kubeconfig, malformed and hostile YAML.
#include <gtest/gtest.h>

#include "credfiles/parsers.h"
#include "credfiles_test_util.h"

namespace credtrace::credfiles {
namespace {

using testing::fake;
using testing::find_key;

TEST(YamlParser, GhHostsOauthTokens) {
  ParseResult r = parse_yaml(testing::read_fixture("gh/hosts.yml"));
  EXPECT_EQ(r.error, "");
  const Finding* user = find_key(r, "github.com.users.octofake.oauth_token");
  ASSERT_NE(user, nullptr);
  EXPECT_EQ(user->type, "github_oauth");
  EXPECT_EQ(user->value.view(), fake("GH_OAUTH"));
  EXPECT_EQ(user->line, 4);
  const Finding* host = find_key(r, "github.com.oauth_token");
  ASSERT_NE(host, nullptr);
  EXPECT_EQ(host->line, 7);
  const Finding* ref = find_key(r, "ghe.fake.example.oauth_token");
  ASSERT_NE(ref, nullptr);
  EXPECT_FALSE(ref->is_secret());
  EXPECT_EQ(ref->reference, "${GH_ENTERPRISE_TOKEN}");
  EXPECT_EQ(testing::count_secrets(r), 2u);
}

TEST(YamlParser, KubeconfigTokenKeyDataAndPassword) {
  ParseResult r = parse_yaml(testing::read_fixture("kube/config"));
  EXPECT_EQ(r.error, "");
  const Finding* key = find_key(r, "users[0].user.client-key-data");
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(key->type, "rsa_private_key");
  EXPECT_EQ(key->line, 16);
  ParseResult pem = parse_pem(testing::read_fixture("pem/server.key"));
  ASSERT_EQ(pem.findings.size(), 1u);
  EXPECT_EQ(key->value.view(), pem.findings[0].value.view());  // same key, same fingerprint as the file
  const Finding* token = find_key(r, "users[1].user.token");
  ASSERT_NE(token, nullptr);
  EXPECT_EQ(token->type, "jwt");
  EXPECT_EQ(token->line, 19);
  const Finding* password = find_key(r, "users[2].user.password");
  ASSERT_NE(password, nullptr);
  EXPECT_EQ(password->type, "password");
  EXPECT_EQ(password->value.view(), "FAKEkubePassw0rd!");
  EXPECT_EQ(password->line, 23);
  EXPECT_EQ(testing::count_secrets(r), 3u);  // certificate data is public
}

TEST(YamlParser, PlainBooleansAreNotValues) {
  ParseResult r = parse_yaml("password: true\ntoken: ~\napi_key: 'FAKEquotedKey1'\n");
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].key, "api_key");
}

TEST(YamlParser, MalformedYamlReportsThePositionOnly) {
  ParseResult r = parse_yaml(testing::read_fixture("malformed/bad.yaml"));
  EXPECT_EQ(r.error.rfind("yaml parse error at line", 0), 0u) << r.error;
  EXPECT_EQ(r.error.find("unclosed"), std::string::npos);
}

TEST(YamlParser, AliasBombIsBounded) {
  std::string text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  std::string previous = "a";
  for (char c = 'b'; c <= 'j'; ++c) {
    std::string name(1, c);
    text += name + ": &" + name + " [";
    for (int i = 0; i < 10; ++i) text += (i ? ", *" : "*") + previous;
    text += "]\n";
    previous = name;
  }
  ParseResult r = parse_yaml(text);
  EXPECT_NE(r.error.find("yaml nodes"), std::string::npos) << r.error;
}

TEST(YamlParser, MultipleDocuments) {
  ParseResult r = parse_yaml("token: FAKEfirstToken1\n---\ntoken: FAKEsecondToken2\n");
  ASSERT_EQ(r.findings.size(), 2u);
  EXPECT_EQ(r.findings[0].key, "[doc0].token");
  EXPECT_EQ(r.findings[1].key, "[doc1].token");
  EXPECT_EQ(r.findings[1].line, 3);
}

}  // namespace
}  // namespace credtrace::credfiles
