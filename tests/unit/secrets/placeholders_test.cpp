// Tests of placeholder recognition: references, templates, filler words, masks; real keys are not placeholders.
#include "secrets/placeholders.h"

#include <gtest/gtest.h>

#include "test_tokens.h"

namespace credtrace::secrets {
namespace {

using namespace credtrace::secrets::testing;

TEST(IsPlaceholder, RecognisesPlaceholders) {
  for (std::string_view value :
       {"", "   ", "\t\n", "${GITHUB_TOKEN}", "${OPENAI_API_KEY:-}", "${VAR:-default}", "${env:GITHUB_TOKEN}",
        "${input:github_token}", "$GITHUB_TOKEN", "$(cat /run/secrets/token)", "{{ api_key }}", "{{secrets.TOKEN}}",
        "<your-token>", "<YOUR_API_KEY>", "<token>", "%API_KEY%", "xxxx", "XXXXXXXXXXXX", "sk-xxxxxxxxxxxxxxxxxxxx",
        "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "ghp_XX", "sk-proj-****", "********", "changeme", "CHANGEME",
        "change-me", "your-api-key", "YOUR_API_KEY_HERE", "your_token_here", "paste-your-key-here", "REPLACE_ME",
        "TODO", "placeholder", "my-placeholder-value", "dummy", "aaaaaaaaaaaa", "0000000000", "null", "None",
        "undefined", "true", "FALSE", "\"${TOKEN}\"", "'changeme'", "sk-...", "ghp_\xE2\x80\xA6"}) {
    EXPECT_TRUE(is_placeholder(value)) << value;
  }
}

TEST(IsPlaceholder, RealLookingValuesAreNotPlaceholders) {
  std::mt19937 rng(31);
  EXPECT_FALSE(is_placeholder(github_pat(rng)));
  EXPECT_FALSE(is_placeholder(aws_key_id(rng)));
  EXPECT_FALSE(is_placeholder(anthropic_key(rng)));
  EXPECT_FALSE(is_placeholder(openai_project_key(rng, "sk-proj-", 74)));
  for (std::string_view value : {"hunter2!", "password", "s3cr3t-Pa55", "abc$def", "ab", "postgres://u:p@h/db",
                                 "Tr0ub4dor&3", "${not closed"}) {
    EXPECT_FALSE(is_placeholder(value)) << value;
  }
}

TEST(IsPlaceholder, RandomTokensAreRarelyPlaceholders) {
  std::mt19937 rng(32);
  int placeholders = 0;
  for (int i = 0; i < 2000; ++i) placeholders += is_placeholder(random_from(rng, kAlnumChars, 40)) ? 1 : 0;
  EXPECT_EQ(placeholders, 0);
}

}  // namespace
}  // namespace credtrace::secrets
