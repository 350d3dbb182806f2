// Internal: whether a named value is a credential, a reference or nothing; findings collected with safe keys.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "credfiles/finding.h"

namespace credtrace::credfiles::detail {

// Minimum length of a value that only its name marks as secret (as secrets::inspect_env_var).
inline constexpr size_t kMinNameOnlyLength = 6;

// "aws_secret_access_key", "accessToken", "client-key-data", "_authToken" → "AWS_SECRET_ACCESS_KEY",
// "ACCESS_TOKEN", "CLIENT_KEY_DATA", "_AUTH_TOKEN" (camelCase split, '-', '.' and ' ' become '_', upper case).
std::string normalized_name(std::string_view name);

// The (normalized) name marks a secret: the env-name globs plus structured-file names (auth, secret, *token,
// *_key_data), minus identifiers (*_id), types, URLs and paths.
bool is_secret_name(std::string_view name);

// Type for a value only its name marks: oauth_client_secret, oauth_refresh_token, oauth_access_token,
// private_key, basic_auth, registry_token, else secrets::type_for_env_name.
std::string type_for_name(std::string_view name);

// The value is (or contains) a variable reference: ${X}, ${env:X}, ${input:x}, ${{ x }}, {{ x }}, $X, %X%.
bool has_reference(std::string_view value);

// Those references joined by " " (typed tokens inside them redacted); "" when there are none.
std::string reference_tokens(std::string_view value);

// `text` with typed tokens and URL passwords replaced by "<redacted:TYPE>" (for keys and messages).
std::string redact_for_output(std::string_view text);

// "%41" → "A" (URL userinfo, git-credentials). Invalid escapes are kept as written.
std::string percent_decode(std::string_view text);

// Overwrites then clears (OPENSSL_cleanse): for every temporary copy of a raw value.
void wipe(std::string& text);

// Collects findings for one file. Keys are redacted on the way in; values are copied into SecretBytes.
class FindingCollector {
 public:
  // One named value (name = the field deciding name rules, e.g. "GITHUB_TOKEN" or "aws_secret_access_key"):
  // a PEM private key inside it; a whole-value typed credential; URL passwords, secret query values and typed
  // tokens inside it; a credential header ("Authorization: Bearer …"); else, when the name is secret-named,
  // a reference (placeholders, ${VAR}) or the whole value (at least kMinNameOnlyLength, not a file path).
  void judge(std::string_view key, std::string_view name, std::string_view value, int line);

  // An HTTP header value: credential headers (Authorization Bearer/Basic/token, x-api-key, …) by name, others
  // like judge().
  void judge_header(std::string_view key, std::string_view header_name, std::string_view value, int line);

  // Text without a deciding name: URL passwords, secret query values and typed tokens only. True if any.
  bool scan_embedded(std::string_view key, std::string_view text, int line);

  // base64("user:password") (docker auths.*.auth, npm _auth): the password (the user when the password is
  // empty). False when it does not decode to "user:password".
  bool add_basic_auth(std::string_view key, std::string_view encoded, int line);

  void add_secret(std::string_view key, std::string_view value, std::string_view type, size_t prefix_len, int line);
  void add_reference(std::string_view key, std::string_view name, std::string_view value, int line);

  // Every finding added from now on carries this MCP server name.
  void set_server(std::string server) { server_ = std::move(server); }

  // Problems in the input (the first few are kept, the rest counted); never pass content in a message.
  void add_error(std::string message);
  ParseResult take();

 private:
  bool judge_credential_header_line(std::string_view key, std::string_view value, int line);
  void judge_authorization(std::string_view key, std::string_view value, int line);

  static constexpr size_t kMaxErrorMessages = 3;

  std::vector<Finding> findings_;
  std::vector<std::string> errors_;
  size_t more_errors_ = 0;
  std::string server_;
};

}  // namespace credtrace::credfiles::detail
