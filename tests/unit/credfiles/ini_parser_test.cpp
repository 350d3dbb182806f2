// Unit tests of the INI parser: AWS credentials and config, .pypirc, gitconfig-like files, malformed input.
#include <gtest/gtest.h>

#include "credfiles/parsers.h"
#include "credfiles_test_util.h"

namespace credtrace::credfiles {
namespace {

using testing::fake;
using testing::find_key;

TEST(IniParser, AwsCredentialsProfiles) {
  ParseResult r = parse_ini(testing::read_fixture("aws/credentials"));
  EXPECT_EQ(r.error, "");
  const Finding* id = find_key(r, "default.aws_access_key_id");
  ASSERT_NE(id, nullptr);
  EXPECT_EQ(id->type, "aws_access_key_id");
  EXPECT_EQ(id->value.view(), fake("AWS_ID"));
  EXPECT_EQ(id->prefix_len, 4u);
  EXPECT_EQ(id->line, 3);
  const Finding* secret = find_key(r, "default.aws_secret_access_key");
  ASSERT_NE(secret, nullptr);
  EXPECT_EQ(secret->type, "aws_secret_access_key");
  EXPECT_EQ(secret->value.view(), fake("AWS_SEC"));
  EXPECT_EQ(secret->line, 4);
  const Finding* session = find_key(r, "ci.aws_session_token");
  ASSERT_NE(session, nullptr);
  EXPECT_EQ(session->type, "aws_session_token");
  EXPECT_EQ(session->line, 9);
  EXPECT_EQ(find_key(r, "ci.region"), nullptr);
  EXPECT_EQ(testing::count_secrets(r), 5u);
}

TEST(IniParser, SecretStartingWithSlashIsNotTakenForAPath) {
  ParseResult r = parse_ini("[default]\naws_secret_access_key = /K7MDENGbPxRfiCYzQ9Lq3vT2a+wJalrXUtnFEMI1\n"
                            "[paths]\nclient_secret = /run/secrets/client_secret\n");
  const Finding* secret = find_key(r, "default.aws_secret_access_key");
  ASSERT_NE(secret, nullptr);
  EXPECT_TRUE(secret->is_secret());
  const Finding* path = find_key(r, "paths.client_secret");
  EXPECT_TRUE(path == nullptr || !path->is_secret());
}

TEST(IniParser, PlaceholdersAndReferencesAreNotSecrets) {
  ParseResult r = parse_ini(testing::read_fixture("aws/credentials"));
  const Finding* masked = find_key(r, "template.aws_access_key_id");
  ASSERT_NE(masked, nullptr);
  EXPECT_FALSE(masked->is_secret());
  EXPECT_EQ(masked->reference, "");  // a placeholder: its text is not repeated
  EXPECT_EQ(masked->value.size(), 0u);
  const Finding* ref = find_key(r, "template.aws_secret_access_key");
  ASSERT_NE(ref, nullptr);
  EXPECT_FALSE(ref->is_secret());
  EXPECT_EQ(ref->reference, "${AWS_SECRET_ACCESS_KEY}");
  EXPECT_EQ(ref->line, 14);
}

TEST(IniParser, AwsConfigNestedBlocksAndSettings) {
  ParseResult r = parse_ini(testing::read_fixture("aws/config"));
  EXPECT_EQ(r.error, "");
  ASSERT_EQ(testing::count_secrets(r), 1u);
  const Finding* nested = find_key(r, "profile legacy.s3.aws_secret_access_key");
  ASSERT_NE(nested, nullptr);
  EXPECT_EQ(nested->line, 13);
  EXPECT_EQ(nested->value.view(), fake("AWS_SEC"));
}

TEST(IniParser, Pypirc) {
  ParseResult r = parse_ini(testing::read_fixture("pypi/.pypirc"));
  EXPECT_EQ(r.error, "");
  const Finding* token = find_key(r, "pypi.password");
  ASSERT_NE(token, nullptr);
  EXPECT_EQ(token->type, "pypi");
  EXPECT_EQ(token->value.view(), fake("PYPI"));
  EXPECT_EQ(token->line, 8);
  const Finding* password = find_key(r, "testpypi.password");
  ASSERT_NE(password, nullptr);
  EXPECT_EQ(password->type, "password");
  EXPECT_EQ(password->value.view(), "FAKEtestPypiPassw0rd");
  EXPECT_EQ(find_key(r, "pypi.username"), nullptr);
  EXPECT_EQ(testing::count_secrets(r), 2u);
}

TEST(IniParser, GitconfigSubsectionsHeadersAndBareKeys) {
  std::string pat = fake("GH_PAT");
  std::string text = "[core]\n\tbare\n[http \"https://github.com/\"]\n\textraheader = AUTHORIZATION: bearer " + pat +
                     "\n[credential]\n\thelper = store\n";
  ParseResult r = parse_ini(text);
  EXPECT_EQ(r.error, "");
  const Finding* header = find_key(r, "http.https://github.com/.extraheader");
  ASSERT_NE(header, nullptr);
  EXPECT_EQ(header->type, "github_pat");
  EXPECT_EQ(header->value.view(), pat);
  EXPECT_EQ(header->line, 4);
  EXPECT_EQ(testing::count_secrets(r), 1u);
}

TEST(IniParser, MalformedLinesAreReportedAndTheRestIsParsed) {
  ParseResult r = parse_ini(testing::read_fixture("aws/malformed"));
  EXPECT_NE(r.error.find("line 1: unterminated section header"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("line 3: not a section or key = value"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("line 4: key = value without a key"), std::string::npos) << r.error;
  EXPECT_NE(find_key(r, "ok.aws_secret_access_key"), nullptr);
  EXPECT_NE(find_key(r, "aws_access_key_id"), nullptr);
  EXPECT_EQ(r.error.find(fake("AWS_SEC")), std::string::npos);
  EXPECT_EQ(r.error.find(fake("AWS_ID")), std::string::npos);
}

TEST(IniParser, ManyErrorsAreSummarised) {
  std::string text;
  for (int i = 0; i < 50; ++i) text += "garbage line with spaces\n";
  ParseResult r = parse_ini(text);
  EXPECT_NE(r.error.find("and 47 more"), std::string::npos) << r.error;
}

}  // namespace
}  // namespace credtrace::credfiles
