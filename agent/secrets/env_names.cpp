// Environment-variable secret naming: default globs, the glob matcher and the NAME=VALUE decision.
#include "secrets/env_names.h"

#include <array>

#include "secrets/detectors.h"
#include "secrets/file_paths.h"
#include "secrets/placeholders.h"
#include "secrets/url_secrets.h"

namespace credtrace::secrets {
namespace {

char to_upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

std::string uppercase(std::string_view text) {
  std::string upper(text);
  for (char& c : upper) c = to_upper(c);
  return upper;
}

bool any_glob_matches(const std::vector<std::string>& globs, std::string_view name) {
  for (const std::string& glob : globs) {
    if (glob_matches(glob, name)) return true;
  }
  return false;
}

// Name-to-type rules, first match wins (specific before generic).
struct NameTypeRule {
  std::string_view glob;
  std::string_view type;
};

constexpr std::array kNameTypeRules = {
    NameTypeRule{"AWS_SECRET_ACCESS_KEY", "aws_secret_access_key"},
    NameTypeRule{"AWS_ACCESS_KEY_ID", "aws_access_key_id"},
    NameTypeRule{"AWS_SESSION_TOKEN", "aws_session_token"},
    NameTypeRule{"AWS_SECURITY_TOKEN", "aws_session_token"},
    NameTypeRule{"*PASSWORD*", "password"},
    NameTypeRule{"*PASSWD*", "password"},
    NameTypeRule{"*_PWD", "password"},
    NameTypeRule{"*PRIVATE_KEY*", "private_key"},
    NameTypeRule{"*SECRET*", "generic_secret"},
    NameTypeRule{"*TOKEN*", "generic_token"},
    NameTypeRule{"*_PAT", "generic_token"},
    NameTypeRule{"*API_KEY*", "generic_api_key"},
    NameTypeRule{"*APIKEY*", "generic_api_key"},
    NameTypeRule{"*_KEY", "generic_api_key"},
};

}  // namespace

std::vector<std::string> default_secret_env_patterns() {
  return {
      "*API_KEY",         // OPENAI_API_KEY, ANTHROPIC_API_KEY, API_KEY
      "*APIKEY",          // SERPAPI_APIKEY, APIKEY
      "*_TOKEN",          // GITHUB_TOKEN, HF_TOKEN, SLACK_BOT_TOKEN, *_ACCESS_TOKEN, *_REFRESH_TOKEN
      "TOKEN",            // a bare TOKEN
      "*_TOKEN_*",        // SLACK_TOKEN_BOT style suffixes
      "*SECRET*",         // CLIENT_SECRET, AWS_SECRET_ACCESS_KEY, SECRET_KEY_BASE, JWT_SECRET
      "*PASSWORD*",       // DB_PASSWORD, POSTGRES_PASSWORD, PASSWORD
      "*PASSWD*",         // SMTP_PASSWD
      "*_PWD",            // DB_PWD (not PWD/OLDPWD: they need the underscore)
      "*_PAT",            // GITLAB_PAT, AZURE_DEVOPS_PAT
      "*PRIVATE_KEY*",    // SSH_PRIVATE_KEY, GITHUB_APP_PRIVATE_KEY
      "*_CREDENTIALS",    // DOCKER_CREDENTIALS (GOOGLE_APPLICATION_CREDENTIALS is excluded: a path)
      "*_AUTH",           // NPM_AUTH, BASIC_AUTH
      "*_AUTH_TOKEN",     // kept explicit for readers; also covered by *_TOKEN
      "*_KEY",            // STRIPE_KEY, ENCRYPTION_KEY, MASTER_KEY (public keys are excluded)
      "AWS_ACCESS_KEY_ID", // the AWS key identity; the value is also typed (AKIA…)
      "AWS_*"              // anything else AWS_ that is not a known setting (excludes below)
  };
}

std::vector<std::string> default_secret_env_excludes() {
  return {
      // AWS settings that sit next to AWS credentials but are configuration.
      "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_OUTPUT", "AWS_CONFIG_FILE",
      "AWS_SHARED_CREDENTIALS_FILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
      "AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS", "AWS_SDK_*", "AWS_CA_BUNDLE", "AWS_EC2_METADATA_*", "AWS_PAGER",
      "AWS_STS_REGIONAL_ENDPOINTS", "AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT", "AWS_EXECUTION_ENV",
      "AWS_LAMBDA_*", "AWS_XRAY_*", "AWS_NODEJS_CONNECTION_REUSE_ENABLED", "AWS_ENDPOINT_URL*", "AWS_ACCOUNT_ID",
      // References to where a secret lives, not the secret: files, directories, paths.
      "*_FILE", "*_PATH", "*_DIR", "GOOGLE_APPLICATION_CREDENTIALS",
      // Locations. *_URL is excluded by name, DATABASE_URL included: a URL value that embeds a password is
      // still reported by value (type url_password), so excluding URL names loses no credential.
      "*_URL", "*_URI", "*_ENDPOINT", "*_HOST", "*_PORT",
      // Identifiers of secrets in secret managers, and public halves of key pairs.
      "*_SECRET_NAME", "*_SECRET_ARN", "*_ARN", "*PUBLIC_KEY", "*PUBLISHABLE_KEY",
      // Settings about secrets rather than secrets.
      "*_TTL", "*_TIMEOUT", "*_ENABLED", "*_LENGTH", "*_TYPE", "*_EXPIRY", "*_EXPIRES_AT",
      // Common non-secret *_KEY names.
      "*_SORT_KEY", "*_PARTITION_KEY", "*_PRIMARY_KEY", "*_CACHE_KEY",
  };
}

NamePatterns::NamePatterns(std::vector<std::string> include_globs, std::vector<std::string> exclude_globs)
    : include_globs_(std::move(include_globs)), exclude_globs_(std::move(exclude_globs)) {}

bool NamePatterns::matches(std::string_view name) const {
  return any_glob_matches(include_globs_, name) && !any_glob_matches(exclude_globs_, name);
}

bool glob_matches(std::string_view glob, std::string_view text) {
  size_t g = 0, t = 0;
  size_t star = std::string_view::npos, star_text = 0;
  while (t < text.size()) {
    if (g < glob.size() && (glob[g] == '?' || to_upper(glob[g]) == to_upper(text[t]))) {
      ++g, ++t;
    } else if (g < glob.size() && glob[g] == '*') {
      star = g++, star_text = t;
    } else if (star != std::string_view::npos) {
      g = star + 1, t = ++star_text;
    } else {
      return false;
    }
  }
  while (g < glob.size() && glob[g] == '*') ++g;
  return g == glob.size();
}

std::string_view type_for_env_name(std::string_view name) {
  std::string upper = uppercase(name);
  for (const NameTypeRule& rule : kNameTypeRules) {
    if (glob_matches(rule.glob, upper)) return rule.type;
  }
  return "generic_secret";
}

std::optional<EnvFinding> inspect_env_var(std::string_view name, std::string_view value, const NamePatterns& names) {
  if (is_placeholder(value)) return std::nullopt;
  bool name_matches = names.matches(name);
  if (std::optional<Detection> typed = classify_value(value)) {
    return EnvFinding{typed->type, name_matches, true, typed->prefix_len};
  }
  if (std::vector<TextSpan> passwords = find_url_passwords(value); !passwords.empty())
    return EnvFinding{"url_password", name_matches, true, 0, passwords.front().offset, passwords.front().length};
  if (!name_matches || value.size() < kMinNameOnlyValueLength || looks_like_file_path(value)) return std::nullopt;
  return EnvFinding{type_for_env_name(name), true, false, 0};
}

}  // namespace credtrace::secrets
