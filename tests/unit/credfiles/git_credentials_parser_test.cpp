// Unit tests of the git-credentials parser: URL passwords (percent-decoded), tokens as user names, bad lines.
#include <gtest/gtest.h>

#include "credfiles/parsers.h"
#include "credfiles_test_util.h"

namespace credtrace::credfiles {
namespace {

using testing::find_key;

TEST(GitCredentialsParser, StoredUrls) {
  ParseResult r = parse_git_credentials(testing::read_fixture("git/.git-credentials"));
  const Finding* github = find_key(r, "https://github.com.password");
  ASSERT_NE(github, nullptr);
  EXPECT_EQ(github->type, "github_pat");
  EXPECT_EQ(github->line, 1);
  const Finding* gitlab = find_key(r, "https://gitlab.fake.example.password");
  ASSERT_NE(gitlab, nullptr);
  EXPECT_EQ(gitlab->type, "gitlab_pat");
  const Finding* encoded = find_key(r, "https://git.fake.example:8443/team.password");
  ASSERT_NE(encoded, nullptr);
  EXPECT_EQ(encoded->value.view(), "FAKE/p@ss");  // percent-decoded: what git sends
  EXPECT_EQ(encoded->line, 3);
  const Finding* user_token = find_key(r, "https://github.com.user");
  ASSERT_NE(user_token, nullptr);
  EXPECT_EQ(user_token->type, "github_oauth");
  EXPECT_EQ(user_token->line, 4);
  EXPECT_EQ(r.findings.size(), 4u);  // "x-oauth-basic" is not a password
  for (const Finding& f : r.findings) EXPECT_EQ(f.key.find("octofake"), std::string::npos);  // no user names
}

TEST(GitCredentialsParser, BadLineIsReported) {
  ParseResult r = parse_git_credentials(testing::read_fixture("git/.git-credentials"));
  EXPECT_NE(r.error.find("line 5: not a scheme://user:password@host URL"), std::string::npos) << r.error;
}

// Found by fuzz_credfiles_git_credentials: a password that occurs inside the "<redacted>" marker put in its place
// ("acted>") made the key's redaction replace it again and again until memory ran out.
TEST(GitCredentialsParser, APasswordFoundInTheRedactionMarkerEnds) {
  const std::string input =  // the fuzzer's input: user "fake%41u\xf3rede<r", password "acted>"
      "htgps://fake%41u\xf3rede<r:acted>@git.fa~ttpo://oauth-here1:glpat-FEf@github.cohtt\nh\xfapath2:pat-FAKEfAKEfae."
      "example\nhttps://AK%t-Fh-here1:glpat-FEf@github.cohttpAKo";
  ParseResult r = parse_git_credentials(input);
  for (const Finding& f : r.findings) {
    EXPECT_LT(f.key.size(), 200u) << f.key;
  }
}

// Found by fuzz_credfiles_git_credentials: a URL whose host part holds the password's text puts it in the key, and
// when that password ("dacted>") also occurs in the "<redacted>" marker, the redacted key still spelled it.
TEST(GitCredentialsParser, NoKeyEverSpellsItsPasswordNotEvenThroughTheMarker) {
  for (const std::string password : {"dacted>", "S3cretValue", "d>wxyz"}) {
    const std::string input = "https://user:" + password + "@example.com/a*re" + password + "wxyz/" + password + "\n";
    ParseResult r = parse_git_credentials(input);
    ASSERT_FALSE(r.findings.empty()) << password;
    for (const Finding& f : r.findings) {
      if (f.is_secret()) {
        EXPECT_EQ(f.value.view(), password);
      }
      EXPECT_EQ(f.key.find(password), std::string::npos) << f.key;
    }
  }
  ParseResult ordinary = parse_git_credentials("https://user:S3cretValue@example.com/group\n");
  ASSERT_EQ(ordinary.findings.size(), 1u);
  EXPECT_EQ(ordinary.findings[0].key, "https://example.com/group.password");  // an ordinary key is kept whole
}

}  // namespace
}  // namespace credtrace::credfiles
