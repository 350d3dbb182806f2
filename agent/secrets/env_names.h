// Public API of environment-variable secret naming: name globs, generic types and NAME=VALUE decisions.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace credtrace::secrets {

// Globs (case-insensitive, '*' and '?') for names that carry secrets; each is documented in env_names.cpp.
std::vector<std::string> default_secret_env_patterns();
// Globs for names that match the patterns above but hold no secret (regions, file paths, URLs, …).
std::vector<std::string> default_secret_env_excludes();

// A name matches when it matches an include glob and no exclude glob. Matching is case-insensitive.
class NamePatterns {
 public:
  NamePatterns(std::vector<std::string> include_globs, std::vector<std::string> exclude_globs);
  bool matches(std::string_view name) const;

 private:
  std::vector<std::string> include_globs_;
  std::vector<std::string> exclude_globs_;
};

// Case-insensitive glob match with '*' (any run) and '?' (one character).
bool glob_matches(std::string_view glob, std::string_view text);

// Generic type when only the name marks a secret: aws_secret_access_key, aws_session_token, password,
// private_key, generic_secret, generic_token, generic_api_key (the fallback is generic_secret).
std::string_view type_for_env_name(std::string_view name);

struct EnvFinding {
  std::string_view type;  // static storage
  bool matched_name;      // the name matched the patterns
  bool matched_value;     // the value itself was recognised (typed credential or URL password)
  size_t prefix_len;      // public prefix length of a typed value, else 0
  // Where the credential is in the value: all of it, except a URL's userinfo password (url_password), which is what
  // a client sends (Basic auth) and what a credential file's URL is fingerprinted by.
  size_t offset = 0;
  size_t length = std::string_view::npos;
  std::string_view credential_in(std::string_view value) const { return value.substr(offset, length); }
};

// Decides whether NAME=VALUE is a secret: placeholders never; a typed detector match on the whole value
// wins (its type); a URL value with a userinfo password is "url_password"; else a name match gives the
// name's generic type, provided the value is at least kMinNameOnlyValueLength long and not a file path.
std::optional<EnvFinding> inspect_env_var(std::string_view name, std::string_view value, const NamePatterns& names);

inline constexpr size_t kMinNameOnlyValueLength = 6;

}  // namespace credtrace::secrets
