// Public API of argv redaction: secret values in command lines replaced before argv is recorded.
#pragma once

#include <string>
#include <vector>

namespace credtrace::secrets {

// Returns argv with secret-looking values replaced ("<redacted:TYPE>" or "****" masks):
//  - values of secret-named flags (--token=X, --api-key X, --password X; mysql -pX; sshpass -p X),
//  - curl -u/--user user:password (password masked),
//  - whole args classify_value() recognises, and typed credentials inside any arg (scan_text),
//  - URL userinfo passwords (postgres://user:****@host/db) and secret-named query parameter values,
//  - header args "Authorization: Bearer X", "x-api-key: X", …,
//  - NAME=VALUE args (env FOO=bar cmd, docker -e NAME=VALUE) that inspect_env_var() calls secret.
// Everything else is returned unchanged.
std::vector<std::string> redact_argv(const std::vector<std::string>& argv);

}  // namespace credtrace::secrets
