// Public API of argv and free-text redaction: secret values in command lines and diagnostics replaced.
#pragma once

#include <string>
#include <string_view>
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

// Returns free text (a log message) with secret-looking values replaced, everything else byte for byte:
//  - typed credentials anywhere (scan_text), URL userinfo passwords and secret-named query parameter values,
//  - the value after "Bearer " / "Basic " and a leading "x-api-key: X" style header,
//  - words NAME=VALUE and --secret-flag=VALUE that redact_argv would redact.
// Prose is not read as a command line: "--tls-key and ..." does not make the next word a secret.
std::string redact_text(std::string_view text);

}  // namespace credtrace::secrets
