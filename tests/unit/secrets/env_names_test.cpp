// Tests of env-var secret naming: glob matching, default patterns and excludes, types, NAME=VALUE decisions.
#include "secrets/env_names.h"

#include <gtest/gtest.h>

#include "test_tokens.h"

namespace credtrace::secrets {
namespace {

using namespace credtrace::secrets::testing;

NamePatterns defaults() { return NamePatterns(default_secret_env_patterns(), default_secret_env_excludes()); }

TEST(GlobMatches, StarQuestionAndCase) {
  EXPECT_TRUE(glob_matches("*_TOKEN", "github_token"));
  EXPECT_TRUE(glob_matches("*_TOKEN", "A_TOKEN"));
  EXPECT_FALSE(glob_matches("*_TOKEN", "TOKEN"));
  EXPECT_TRUE(glob_matches("*SECRET*", "SECRET"));
  EXPECT_TRUE(glob_matches("A?C", "abc"));
  EXPECT_FALSE(glob_matches("A?C", "ac"));
  EXPECT_TRUE(glob_matches("*", ""));
  EXPECT_FALSE(glob_matches("", "x"));
  EXPECT_TRUE(glob_matches("*a*b*c", "xxaxxbxxbxc"));
  EXPECT_FALSE(glob_matches("*a*b*c", "xxaxxbxxbx"));
}

TEST(DefaultPatterns, SecretNamesMatch) {
  NamePatterns names = defaults();
  for (std::string_view name :
       {"OPENAI_API_KEY", "ANTHROPIC_API_KEY", "API_KEY", "SERPAPI_APIKEY", "GITHUB_TOKEN", "GH_TOKEN", "HF_TOKEN",
        "TOKEN", "SLACK_BOT_TOKEN", "GOOGLE_ACCESS_TOKEN", "CLIENT_SECRET", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
        "AWS_ACCESS_KEY_ID", "DB_PASSWORD", "PGPASSWORD", "SMTP_PASSWD", "DB_PWD", "GITLAB_PAT", "SSH_PRIVATE_KEY",
        "DOCKER_CREDENTIALS", "NPM_AUTH", "STRIPE_KEY", "ENCRYPTION_KEY", "jwt_secret", "github_token",
        "AWS_SECURITY_TOKEN", "AWS_BEARER_TOKEN_BEDROCK", "AWS_CUSTOM_SIGNING_MATERIAL"}) {
    EXPECT_TRUE(names.matches(name)) << name;
  }
}

TEST(DefaultPatterns, NonSecretNamesDoNotMatch) {
  NamePatterns names = defaults();
  for (std::string_view name :
       {"PATH", "HOME", "PWD", "OLDPWD", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_OUTPUT",
        "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
        "AWS_ROLE_SESSION_NAME", "GITHUB_TOKEN_FILE", "SSL_KEY_PATH", "OAUTH_TOKEN_URL", "DATABASE_URL",
        "GOOGLE_APPLICATION_CREDENTIALS", "STRIPE_PUBLISHABLE_KEY", "JWT_PUBLIC_KEY", "TOKENIZERS_PARALLELISM",
        "MAX_TOKENS", "SSH_AUTH_SOCK", "SECRETS_DIR", "TOKEN_TTL", "DYNAMO_SORT_KEY", "LANG", "TERM",
        "AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS", "AWS_SDK_LOAD_CONFIG", "AWS_ENDPOINT_URL_S3", "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_EC2_METADATA_DISABLED", "AWS_ACCOUNT_ID"}) {
    EXPECT_FALSE(names.matches(name)) << name;
  }
}

TEST(NamePatterns, CustomIncludesAndExcludes) {
  NamePatterns names({"MY_*"}, {"MY_PUBLIC_?"});
  EXPECT_TRUE(names.matches("my_thing"));
  EXPECT_FALSE(names.matches("MY_PUBLIC_X"));
  EXPECT_TRUE(names.matches("MY_PUBLIC_XY"));
  EXPECT_FALSE(names.matches("OTHER"));
  EXPECT_FALSE(NamePatterns({}, {}).matches("ANY"));
}

TEST(TypeForEnvName, GenericTypes) {
  EXPECT_EQ(type_for_env_name("AWS_SECRET_ACCESS_KEY"), "aws_secret_access_key");
  EXPECT_EQ(type_for_env_name("aws_session_token"), "aws_session_token");
  EXPECT_EQ(type_for_env_name("AWS_SECURITY_TOKEN"), "aws_session_token");
  EXPECT_EQ(type_for_env_name("POSTGRES_PASSWORD"), "password");
  EXPECT_EQ(type_for_env_name("SMTP_PASSWD"), "password");
  EXPECT_EQ(type_for_env_name("DB_PWD"), "password");
  EXPECT_EQ(type_for_env_name("GITHUB_APP_PRIVATE_KEY"), "private_key");
  EXPECT_EQ(type_for_env_name("CLIENT_SECRET"), "generic_secret");
  EXPECT_EQ(type_for_env_name("GITHUB_TOKEN"), "generic_token");
  EXPECT_EQ(type_for_env_name("GITLAB_PAT"), "generic_token");
  EXPECT_EQ(type_for_env_name("OPENAI_API_KEY"), "generic_api_key");
  EXPECT_EQ(type_for_env_name("STRIPE_KEY"), "generic_api_key");
  EXPECT_EQ(type_for_env_name("NPM_AUTH"), "generic_secret");
}

TEST(InspectEnvVar, TypedValueWinsOverName) {
  std::mt19937 rng(41);
  NamePatterns names = defaults();
  std::string token = github_pat(rng);
  std::optional<EnvFinding> finding = inspect_env_var("GITHUB_TOKEN", token, names);
  ASSERT_TRUE(finding);
  EXPECT_EQ(finding->type, "github_pat");
  EXPECT_TRUE(finding->matched_name);
  EXPECT_TRUE(finding->matched_value);
  EXPECT_EQ(finding->prefix_len, 4u);

  finding = inspect_env_var("SOME_SETTING", anthropic_key(rng), names);  // value alone is enough
  ASSERT_TRUE(finding);
  EXPECT_EQ(finding->type, "anthropic");
  EXPECT_FALSE(finding->matched_name);

  finding = inspect_env_var("AWS_ACCESS_KEY_ID", aws_key_id(rng), names);
  ASSERT_TRUE(finding);
  EXPECT_EQ(finding->type, "aws_access_key_id");
}

TEST(InspectEnvVar, NameOnlyGivesGenericType) {
  NamePatterns names = defaults();
  std::optional<EnvFinding> finding =
      inspect_env_var("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ9Lq3vT2a", names);
  ASSERT_TRUE(finding);
  EXPECT_EQ(finding->type, "aws_secret_access_key");
  EXPECT_TRUE(finding->matched_name);
  EXPECT_FALSE(finding->matched_value);
  EXPECT_EQ(finding->prefix_len, 0u);

  // About 1 in 64 AWS secret access keys starts with '/': still a secret, not a path.
  finding = inspect_env_var("AWS_SECRET_ACCESS_KEY", "/wJalrXUtnFEMIK7MDENG+bPxRfiCYzQ9Lq3vT2a", names);
  ASSERT_TRUE(finding);
  EXPECT_EQ(finding->type, "aws_secret_access_key");
  finding = inspect_env_var("AWS_SECRET_ACCESS_KEY", "/wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ9Lq3vT2", names);
  ASSERT_TRUE(finding);

  finding = inspect_env_var("DB_PASSWORD", "s3cr3t-Pa55", names);
  ASSERT_TRUE(finding);
  EXPECT_EQ(finding->type, "password");
}

TEST(InspectEnvVar, PlaceholdersPathsShortValuesAndOtherNamesAreNotSecrets) {
  std::mt19937 rng(42);
  NamePatterns names = defaults();
  EXPECT_FALSE(inspect_env_var("GITHUB_TOKEN", "${GITHUB_TOKEN}", names));
  EXPECT_FALSE(inspect_env_var("GITHUB_TOKEN", "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", names));
  EXPECT_FALSE(inspect_env_var("OPENAI_API_KEY", "<your-api-key>", names));
  EXPECT_FALSE(inspect_env_var("OPENAI_API_KEY", "", names));
  EXPECT_FALSE(inspect_env_var("SSL_KEY", "/etc/ssl/private/key.pem", names));
  EXPECT_FALSE(inspect_env_var("DB_PASSWORD", "abc", names));
  EXPECT_FALSE(inspect_env_var("AWS_REGION", "us-east-1", names));
  EXPECT_FALSE(inspect_env_var("HOME", "/home/user", names));
  EXPECT_FALSE(inspect_env_var("EDITOR", "vim-" + random_from(rng, kAlnumChars, 30), names));
}

TEST(InspectEnvVar, UrlWithPasswordIsSecretWhateverTheName) {
  NamePatterns names = defaults();
  std::optional<EnvFinding> finding = inspect_env_var("DATABASE_URL", "postgres://app:Sup3rS3cret@db:5432/app", names);
  ASSERT_TRUE(finding);
  EXPECT_EQ(finding->type, "url_password");
  EXPECT_FALSE(finding->matched_name);
  EXPECT_TRUE(finding->matched_value);
  // The credential is the password (what Basic auth sends, what a file's URL is fingerprinted by), not the URL.
  EXPECT_EQ(finding->credential_in("postgres://app:Sup3rS3cret@db:5432/app"), "Sup3rS3cret");
  std::optional<EnvFinding> typed = inspect_env_var("GITHUB_TOKEN", "ghp_" + std::string(36, 'a'), names);
  ASSERT_TRUE(typed);
  EXPECT_EQ(typed->credential_in("ghp_" + std::string(36, 'a')), "ghp_" + std::string(36, 'a'));  // the whole value
  EXPECT_FALSE(inspect_env_var("DATABASE_URL", "postgres://db:5432/app", names));
  EXPECT_FALSE(inspect_env_var("DATABASE_URL", "postgres://app@db:5432/app", names));
}

}  // namespace
}  // namespace credtrace::secrets
