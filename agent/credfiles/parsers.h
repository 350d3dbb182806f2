// Public API of the per-format credential parsers: one function per format, each in its own file.
#pragma once

#include <string_view>

#include "credfiles/finding.h"

namespace credtrace::credfiles {

// INI (AWS credentials/config, .pypirc, gitconfig-like): "[section]" / "[section \"sub\"]", "key = value" or
// "key: value", '#'/';' comments, indented sub-keys (AWS "s3 =" blocks). Keys: "section.key".
ParseResult parse_ini(std::string_view text);

// JSON (JSONC comments and trailing commas allowed): docker config (auths.*.auth base64 "user:password"),
// gcloud ADC (client_secret, refresh_token), service-account JSON (private_key), Azure token caches, and any
// secret-named or typed value. Keys: JSON paths ("auths.ghcr.io.auth", "[0].accessToken").
ParseResult parse_json(std::string_view text);

// YAML: GitHub CLI hosts.yml (oauth_token), kubeconfig (token, client-key-data, password), any secret-named
// or typed value. Keys: "github.com.oauth_token", "users[0].user.token".
ParseResult parse_yaml(std::string_view text);

// dotenv: "KEY=value", "export KEY=value", single/double/backtick quotes (multi-line), '#' comments. Keys: names.
ParseResult parse_dotenv(std::string_view text);

// PEM: every "-----BEGIN … PRIVATE KEY-----" block (RSA, EC, DSA, OpenSSH, PKCS#8, encrypted, PGP) is reported
// with its type; the value is the base64 body without whitespace. Certificates and public keys are not.
// Keys: "private_key[0]", "private_key[1]", …
ParseResult parse_pem(std::string_view text);

// netrc: "machine HOST login USER password PASS", "default …", macdef blocks skipped, tokens across lines.
// Keys: "machine HOST.password", "default.password".
ParseResult parse_netrc(std::string_view text);

// npmrc: "//registry/:_authToken=…", "_auth=" (base64 user:password), "_password=" (base64), any secret-named
// key; "${NPM_TOKEN}" values are references. Keys as written ("//registry.npmjs.org/:_authToken").
ParseResult parse_npmrc(std::string_view text);

// git-credentials: one "scheme://user:password@host/path" URL per line (percent-decoded password; a token
// given as the user name with no password is the credential). Keys: "https://github.com.password".
ParseResult parse_git_credentials(std::string_view text);

// A whole-file secret (Kubernetes service-account token, /run/secrets/NAME): the trimmed content.
// Key: "content".
ParseResult parse_token_file(std::string_view text);

// Any text: typed tokens, URL passwords and secret query values per line. Key: "line N".
ParseResult parse_text(std::string_view text);

// MCP client config (every client shape agent/mcp knows, JSON/JSONC or Continue YAML by path): hard-coded
// credentials in each server's env, args, headers and url, with Finding::server set; other secret-named or
// typed values outside server entries without a server. `path` selects the client (mcp::detect_client).
ParseResult parse_mcp_config(std::string_view path, std::string_view text);

}  // namespace credtrace::credfiles
