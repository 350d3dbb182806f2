// Unit tests of the whole-file token parser (Kubernetes service-account tokens, /run/secrets) and the text parser.
#include <gtest/gtest.h>

#include "credfiles/parsers.h"
#include "credfiles_test_util.h"

namespace credtrace::credfiles {
namespace {

TEST(TokenFileParser, KubernetesServiceAccountToken) {
  ParseResult r = parse_token_file(testing::read_fixture("k8s/token"));
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].key, "content");
  EXPECT_EQ(r.findings[0].type, "jwt");
  EXPECT_EQ(r.findings[0].value.view(), testing::fake("JWT"));
  EXPECT_EQ(r.findings[0].line, 1);
}

TEST(TokenFileParser, UntypedSecretEmptyAndPlaceholder) {
  ParseResult plain = parse_token_file("\n  FAKEdockerSecretValue42\n\n");
  ASSERT_EQ(plain.findings.size(), 1u);
  EXPECT_EQ(plain.findings[0].type, "generic_secret");
  EXPECT_EQ(plain.findings[0].value.view(), "FAKEdockerSecretValue42");
  EXPECT_EQ(plain.findings[0].line, 2);
  EXPECT_TRUE(parse_token_file(" \n").findings.empty());
  ParseResult placeholder = parse_token_file("changeme\n");
  ASSERT_EQ(placeholder.findings.size(), 1u);
  EXPECT_FALSE(placeholder.findings[0].is_secret());
}

TEST(TextParser, TypedTokensAndUrlPasswordsPerLine) {
  std::string pat = testing::fake("GH_PAT");
  ParseResult r = parse_text("intro\ncurl -H 'Authorization: token " + pat + "' x\nmysql://u:FAKEpw1234@h/db\n");
  ASSERT_EQ(r.findings.size(), 2u);
  EXPECT_EQ(r.findings[0].key, "line 2");
  EXPECT_EQ(r.findings[0].type, "github_pat");
  EXPECT_EQ(r.findings[1].line, 3);
  EXPECT_EQ(r.findings[1].type, "url_password");
  EXPECT_EQ(r.findings[1].value.view(), "FAKEpw1234");
}

}  // namespace
}  // namespace credtrace::credfiles
