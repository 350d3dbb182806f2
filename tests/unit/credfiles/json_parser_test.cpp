// Unit tests of the JSON parser: docker config, gcloud ADC and service accounts, Azure caches, JSONC, bad input.
#include <gtest/gtest.h>

#include "credfiles/parsers.h"
#include "credfiles_test_util.h"

namespace credtrace::credfiles {
namespace {

using testing::fake;
using testing::find_key;

TEST(JsonParser, DockerConfigAuthsDecodeToThePassword) {
  ParseResult r = parse_json(testing::read_fixture("docker/config.json"));
  EXPECT_EQ(r.error, "");
  const Finding* ghcr = find_key(r, "auths.ghcr.io.auth");
  ASSERT_NE(ghcr, nullptr);
  EXPECT_EQ(ghcr->type, "github_pat");  // the password is a typed token
  EXPECT_EQ(ghcr->value.view(), fake("GH_PAT"));
  EXPECT_EQ(ghcr->prefix_len, 4u);
  EXPECT_EQ(ghcr->line, 4);
  const Finding* hub = find_key(r, "auths.https://index.docker.io/v1/.auth");
  ASSERT_NE(hub, nullptr);
  EXPECT_EQ(hub->type, "basic_auth");
  EXPECT_EQ(hub->value.view(), fake("REG_PW"));
  EXPECT_EQ(hub->line, 7);
  const Finding* identity = find_key(r, "auths.registry.fake.example.identitytoken");
  ASSERT_NE(identity, nullptr);
  EXPECT_EQ(identity->type, "registry_token");
  EXPECT_EQ(identity->line, 10);
  EXPECT_EQ(testing::count_secrets(r), 3u);  // credsStore/credHelpers name helpers, not secrets
}

TEST(JsonParser, GcloudApplicationDefaultCredentials) {
  ParseResult r = parse_json(testing::read_fixture("gcloud/application_default_credentials.json"));
  EXPECT_EQ(r.error, "");
  const Finding* secret = find_key(r, "client_secret");
  ASSERT_NE(secret, nullptr);
  EXPECT_EQ(secret->type, "oauth_client_secret");
  EXPECT_EQ(secret->line, 4);
  const Finding* refresh = find_key(r, "refresh_token");
  ASSERT_NE(refresh, nullptr);
  EXPECT_EQ(refresh->type, "oauth_refresh_token");
  EXPECT_EQ(find_key(r, "client_id"), nullptr);
  EXPECT_EQ(testing::count_secrets(r), 2u);
}

TEST(JsonParser, ServiceAccountPrivateKeyIsFingerprintedByItsBody) {
  ParseResult r = parse_json(testing::read_fixture("gcloud/fake-project-service-account.json"));
  EXPECT_EQ(r.error, "");
  ASSERT_EQ(testing::count_secrets(r), 1u);  // private_key_id and client_id are identifiers
  const Finding* key = find_key(r, "private_key");
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(key->type, "private_key");
  // The same key in a PEM file has the same value, so the same fingerprint.
  ParseResult pem = parse_pem(testing::read_fixture("pem/bundle.pem"));
  ASSERT_EQ(pem.findings.size(), 1u);
  EXPECT_EQ(key->value.view(), pem.findings[0].value.view());
}

TEST(JsonParser, AzureMsalTokenCache) {
  ParseResult r = parse_json(testing::read_fixture("azure/msal_token_cache.json"));
  EXPECT_EQ(r.error, "");
  ASSERT_EQ(testing::count_secrets(r), 2u);
  const Finding* access =
      find_key(r, "AccessToken.fake-home-id-login.microsoftonline.com-accesstoken-fake-client-fake-tenant-scope.secret");
  ASSERT_NE(access, nullptr);
  EXPECT_EQ(access->type, "jwt");
  EXPECT_EQ(access->value.view(), fake("JWT"));
  const Finding* refresh = find_key(r, "RefreshToken.fake-home-id-login.microsoftonline.com-refreshtoken-fake-client--.secret");
  ASSERT_NE(refresh, nullptr);
  EXPECT_EQ(refresh->type, "generic_secret");
}

TEST(JsonParser, AzureLegacyAccessTokensArray) {
  ParseResult r = parse_json(testing::read_fixture("azure/accessTokens.json"));
  EXPECT_EQ(r.error, "");
  ASSERT_EQ(testing::count_secrets(r), 2u);  // tokenType "Bearer" and expiresOn are not credentials
  ASSERT_NE(find_key(r, "[0].accessToken"), nullptr);
  EXPECT_EQ(find_key(r, "[0].accessToken")->type, "jwt");
  ASSERT_NE(find_key(r, "[0].refreshToken"), nullptr);
  EXPECT_EQ(find_key(r, "[0].refreshToken")->type, "oauth_refresh_token");
}

TEST(JsonParser, LinesOfStringsAndNumbers) {
  ParseResult r = parse_json("{\"a\":\n 1,\n \"n\": [2,\n 3],\n \"password\":\n \"FAKEpassw0rd1\", \"api_key\": 123456789\n}");
  EXPECT_EQ(r.error, "");
  ASSERT_NE(find_key(r, "password"), nullptr);
  EXPECT_EQ(find_key(r, "password")->line, 6);
  ASSERT_NE(find_key(r, "api_key"), nullptr);
  EXPECT_EQ(find_key(r, "api_key")->line, 6);
}

TEST(JsonParser, JsoncCommentsAndTrailingCommas) {
  std::string pat = fake("GH_PAT");
  ParseResult r = parse_json("// settings\n{\n  /* block */\n  \"token\": \"" + pat + "\", // trailing\n}\n");
  EXPECT_EQ(r.error, "");
  ASSERT_NE(find_key(r, "token"), nullptr);
  EXPECT_EQ(find_key(r, "token")->line, 4);
}

TEST(JsonParser, MalformedJsonKeepsEarlierFindingsAndNamesTheLine) {
  ParseResult r = parse_json(testing::read_fixture("malformed/bad.json"));
  EXPECT_EQ(r.error.rfind("json parse error at line 3", 0), 0u) << r.error;
  EXPECT_NE(find_key(r, "auths.ghcr.io.auth"), nullptr);
  EXPECT_EQ(r.error.find(fake("GH_PAT")), std::string::npos);
}

TEST(JsonParser, HostileNestingAndEmptyInput) {
  ParseResult deep = parse_json(std::string(100000, '['));
  EXPECT_NE(deep.error.find("nesting deeper than"), std::string::npos) << deep.error;
  EXPECT_NE(parse_json("").error, "");
  EXPECT_EQ(parse_json("[]").error, "");
}

TEST(JsonParser, SecretsInKeysAreRedacted) {
  std::string pat = fake("GH_PAT");
  ParseResult r = parse_json("{\"" + pat + "\": {\"password\": \"FAKEpassw0rd1\"}}");
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].key.find(pat), std::string::npos);
  EXPECT_EQ(r.findings[0].key, "<redacted>.password");
}

}  // namespace
}  // namespace credtrace::credfiles
