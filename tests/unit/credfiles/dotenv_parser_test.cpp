// Unit tests of the dotenv parser: export, quotes, multi-line values, comments, placeholders, malformed lines.
#include <gtest/gtest.h>

#include "credfiles/parsers.h"
#include "credfiles_test_util.h"

namespace credtrace::credfiles {
namespace {

using testing::fake;
using testing::find_key;

TEST(DotenvParser, TypedNamedAndUrlCredentials) {
  ParseResult r = parse_dotenv(testing::read_fixture("dotenv/.env"));
  EXPECT_EQ(r.error, "");
  struct Expected {
    const char* key;
    const char* type;
    int line;
  };
  for (const Expected& e : {Expected{"GITHUB_TOKEN", "github_pat", 2}, Expected{"OPENAI_API_KEY", "openai", 3},
                            Expected{"SLACK_BOT_TOKEN", "slack", 4}, Expected{"DATABASE_URL", "url_password", 5},
                            Expected{"DB_PASSWORD", "password", 6}, Expected{"PRIVATE_KEY", "private_key", 10},
                            Expected{"MULTILINE_SECRET", "generic_secret", 11}}) {
    const Finding* f = find_key(r, e.key);
    ASSERT_NE(f, nullptr) << e.key;
    EXPECT_TRUE(f->is_secret()) << e.key;
    EXPECT_EQ(f->type, e.type) << e.key;
    EXPECT_EQ(f->line, e.line) << e.key;
  }
  EXPECT_EQ(find_key(r, "GITHUB_TOKEN")->value.view(), fake("GH_PAT"));
  EXPECT_EQ(find_key(r, "OPENAI_API_KEY")->value.view(), fake("OPENAI"));
  EXPECT_EQ(find_key(r, "SLACK_BOT_TOKEN")->value.view(), fake("SLACK"));
  EXPECT_EQ(find_key(r, "DATABASE_URL")->value.view(), "FAKEdbPassw0rd");   // the password, not the URL
  EXPECT_EQ(find_key(r, "DB_PASSWORD")->value.view(), "FAKEdbPassw0rd2");   // inline comment dropped
  EXPECT_EQ(find_key(r, "MULTILINE_SECRET")->value.view(), "FAKEline1\nFAKEline2");
  EXPECT_EQ(find_key(r, "DEBUG"), nullptr);
  EXPECT_EQ(find_key(r, "PORT"), nullptr);
  EXPECT_EQ(find_key(r, "EMPTY"), nullptr);
}

TEST(DotenvParser, ReferencesAreRecordedNotReported) {
  ParseResult r = parse_dotenv(testing::read_fixture("dotenv/.env"));
  const Finding* ref = find_key(r, "API_KEY");
  ASSERT_NE(ref, nullptr);
  EXPECT_FALSE(ref->is_secret());
  EXPECT_EQ(ref->reference, "${VAULT_API_KEY}");
  EXPECT_EQ(ref->line, 7);
}

TEST(DotenvParser, ExampleFileHoldsOnlyPlaceholders) {
  ParseResult r = parse_dotenv(testing::read_fixture("dotenv/.env.example"));
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(testing::count_secrets(r), 0u);
  EXPECT_EQ(r.findings.size(), 4u);
  for (const Finding& f : r.findings) EXPECT_EQ(f.reference, "") << f.key;
}

TEST(DotenvParser, LinesAfterAMultiLineValue) {
  ParseResult r = parse_dotenv("A_TOKEN=\"FAKEfirst\nFAKEsecond\"\nB_TOKEN='FAKEbbbbbb'\n\nexport\tC_SECRET=FAKEcccccc\n");
  EXPECT_EQ(r.error, "");
  ASSERT_NE(find_key(r, "B_TOKEN"), nullptr);
  EXPECT_EQ(find_key(r, "B_TOKEN")->line, 3);
  ASSERT_NE(find_key(r, "C_SECRET"), nullptr);
  EXPECT_EQ(find_key(r, "C_SECRET")->line, 5);
}

TEST(DotenvParser, EscapesInDoubleQuotesOnly) {
  ParseResult r = parse_dotenv("D_PASSWORD=\"FAKE\\\"pw\\\\x\"\nS_PASSWORD='FAKE\\npw'\n");
  ASSERT_NE(find_key(r, "D_PASSWORD"), nullptr);
  EXPECT_EQ(find_key(r, "D_PASSWORD")->value.view(), "FAKE\"pw\\x");
  ASSERT_NE(find_key(r, "S_PASSWORD"), nullptr);
  EXPECT_EQ(find_key(r, "S_PASSWORD")->value.view(), "FAKE\\npw");
}

TEST(DotenvParser, MalformedLines) {
  ParseResult r = parse_dotenv(testing::read_fixture("dotenv/malformed.env"));
  EXPECT_NE(find_key(r, "GOOD_TOKEN"), nullptr);
  EXPECT_NE(r.error.find("line 2: not KEY=VALUE"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("line 3: invalid variable name"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("line 4: unterminated quoted value"), std::string::npos) << r.error;
  EXPECT_EQ(r.error.find("FAKE"), std::string::npos);
}

TEST(DotenvParser, CrlfLineEndings) {
  ParseResult r = parse_dotenv("X_TOKEN=FAKEcrlfToken\r\nY=1\r\n");
  ASSERT_NE(find_key(r, "X_TOKEN"), nullptr);
  EXPECT_EQ(find_key(r, "X_TOKEN")->value.view(), "FAKEcrlfToken");
}

}  // namespace
}  // namespace credtrace::credfiles
