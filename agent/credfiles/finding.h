// Public types of credential-file findings: the file formats, one finding (secret or reference), a parse result.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "secrets/fingerprint.h"

namespace credtrace::credfiles {

// One parser per format. `token` is a whole-file secret (Kubernetes service-account token, /run/secrets/*);
// `text` scans any text for typed tokens and URL passwords; `mcp_config` is any MCP client config.
enum class Format { ini, json, yaml, dotenv, pem, netrc, npmrc, git_credentials, token, text, mcp_config };

// "ini", "json", "yaml", "dotenv", "pem", "netrc", "npmrc", "git_credentials", "token", "text", "mcp_config".
std::string_view format_name(Format format);
std::optional<Format> parse_format(std::string_view name);

enum class FindingKind {
  secret,     // a hard-coded credential: `value` holds it
  reference,  // a credential slot filled by a variable reference or a placeholder: no secret
};

struct Finding {
  FindingKind kind = FindingKind::secret;
  // Where in the file: "default.aws_secret_access_key", "auths.ghcr.io.auth", "machine api.example.com.password",
  // "mcpServers.github.env.GITHUB_TOKEN". Typed tokens and URL passwords inside a key are redacted.
  std::string key;
  // A typed detector's type ("github_pat", "aws_access_key_id", "jwt", …) or one derived from the key name
  // ("aws_secret_access_key", "password", "oauth_refresh_token", "private_key", "basic_auth", …).
  std::string type;
  // secret: the raw credential. Describe it (events::describe_credential) and drop the finding; never print it.
  // reference: empty.
  secrets::SecretBytes value;
  size_t prefix_len = 0;  // public prefix length of a typed value (for redacted_preview), else 0
  // reference: the variable references in the value ("${env:GITHUB_TOKEN}", "${input:token}"); "" for a
  // placeholder such as "changeme" or "<your-token>" (whose text is not repeated).
  std::string reference;
  int line = 0;        // 1-based line of the value; 0 when unknown
  std::string server;  // MCP config findings: the server entry's name; else ""

  bool is_secret() const { return kind == FindingKind::secret; }
};

struct ParseResult {
  std::vector<Finding> findings;  // what was found, also when part of the input was malformed
  std::string error;              // non-empty when (part of) the input was malformed; never quotes the content
};

}  // namespace credtrace::credfiles
