// Unit tests of the npmrc parser: _authToken, _auth and _password (base64), references, settings.
#include <gtest/gtest.h>

#include "credfiles/parsers.h"
#include "credfiles_test_util.h"

namespace credtrace::credfiles {
namespace {

using testing::find_key;

TEST(NpmrcParser, RegistryCredentials) {
  ParseResult r = parse_npmrc(testing::read_fixture("npm/.npmrc"));
  EXPECT_EQ(r.error, "");
  const Finding* token = find_key(r, "//registry.npmjs.org/:_authToken");
  ASSERT_NE(token, nullptr);
  EXPECT_EQ(token->type, "npm");
  EXPECT_EQ(token->value.view(), testing::fake("NPM"));
  EXPECT_EQ(token->line, 3);
  const Finding* auth = find_key(r, "//npm.fake.example/:_auth");
  ASSERT_NE(auth, nullptr);
  EXPECT_EQ(auth->type, "basic_auth");
  EXPECT_EQ(auth->value.view(), "FAKEnpmPassw0rd");
  const Finding* password = find_key(r, "//npm.fake.example/:_password");
  ASSERT_NE(password, nullptr);
  EXPECT_EQ(password->type, "password");
  EXPECT_EQ(password->value.view(), "FAKEnpmPassw0rd2");
  EXPECT_EQ(testing::count_secrets(r), 3u);
}

TEST(NpmrcParser, ReferencesAndSettings) {
  ParseResult r = parse_npmrc(testing::read_fixture("npm/.npmrc"));
  const Finding* ref = find_key(r, "//npm.pkg.github.com/:_authToken");
  ASSERT_NE(ref, nullptr);
  EXPECT_FALSE(ref->is_secret());
  EXPECT_EQ(ref->reference, "${GITHUB_TOKEN}");
  EXPECT_EQ(find_key(r, "always-auth"), nullptr);  // "true" is a setting, not an empty credential slot
  EXPECT_EQ(find_key(r, "registry"), nullptr);
  EXPECT_EQ(r.findings.size(), 4u);
}

TEST(NpmrcParser, LineWithoutEqualsIsAnError) {
  ParseResult r = parse_npmrc("//r/:_authToken=FAKEtoken123\njunk line\n");
  EXPECT_NE(r.error.find("line 2: not key=value"), std::string::npos);
  EXPECT_EQ(r.findings.size(), 1u);
}

}  // namespace
}  // namespace credtrace::credfiles
