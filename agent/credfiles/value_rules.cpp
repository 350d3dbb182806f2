// Value rules for credential files: secret names, references, typed/embedded credentials, header values, keys.
#include "credfiles/value_rules.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <array>
#include <optional>

#include "common/base64.h"
#include "credfiles/pem_blocks.h"
#include "secrets/detectors.h"
#include "secrets/env_names.h"
#include "secrets/file_paths.h"
#include "secrets/jwt.h"
#include "secrets/placeholders.h"
#include "secrets/url_secrets.h"

namespace credtrace::credfiles::detail {
namespace {

bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
char to_upper(char c) { return is_lower(c) ? static_cast<char>(c - 'a' + 'A') : c; }
char to_lower(char c) { return is_upper(c) ? static_cast<char>(c - 'A' + 'a') : c; }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), to_lower);
  return out;
}

// Names that mark secrets in structured files beyond the env-name globs.
std::vector<std::string> structured_includes() {
  std::vector<std::string> globs = secrets::default_secret_env_patterns();
  for (const char* extra : {"*TOKEN",      // IDENTITYTOKEN, REGISTRYTOKEN (docker), AUTHTOKEN
                            "AUTH",        // docker auths.*.auth, npm _auth (normalized "_AUTH")
                            "_AUTH",
                            "SECRET",      // Azure MSAL cache entries: AccessToken.*.secret
                            "*_KEY_DATA",  // kubeconfig client-key-data
                            "PASS",        // short spellings in hand-written configs
                            "_PASSWORD"}) {
    globs.emplace_back(extra);
  }
  return globs;
}

std::vector<std::string> structured_excludes() {
  std::vector<std::string> globs = secrets::default_secret_env_excludes();
  for (const char* extra : {"*_ID",             // identifiers: CLIENT_ID, PRIVATE_KEY_ID, AWS_ACCESS_KEY_ID (typed)
                            "*TOKEN_TYPE",      // "Bearer"
                            "*_EXPIRES*", "*EXPIRES_ON", "*EXPIRES_IN", "*_AT",  // timestamps
                            "*TOKEN_URI", "*TOKEN_ENDPOINT", "*_SCOPES", "*_SCOPE",
                            "CREDS_STORE", "CRED_HELPERS", "*_HELPER", "*_HELPERS",  // docker credential helpers
                            "*_PROCESS",        // AWS credential_process: a command
                            "*_CERTIFICATE*", "*_CERT*"}) {
    globs.emplace_back(extra);
  }
  return globs;
}

const secrets::NamePatterns& secret_names() {
  static const secrets::NamePatterns names(structured_includes(), structured_excludes());
  return names;
}

struct NameType {
  std::string_view name;
  std::string_view type;
};

constexpr std::array kNameTypes = {
    NameType{"CLIENT_SECRET", "oauth_client_secret"}, NameType{"REFRESH_TOKEN", "oauth_refresh_token"},
    NameType{"ACCESS_TOKEN", "oauth_access_token"},   NameType{"ID_TOKEN", "oauth_id_token"},
    NameType{"CLIENT_KEY_DATA", "private_key"},       NameType{"PRIVATE_KEY", "private_key"},
    NameType{"AUTH", "basic_auth"},                   NameType{"_AUTH", "basic_auth"},
    NameType{"IDENTITYTOKEN", "registry_token"},      NameType{"REGISTRYTOKEN", "registry_token"},
    NameType{"PASS", "password"},                     NameType{"AUTHORIZATION_TOKEN", "bearer_token"},
};

bool is_identifier_char(char c) { return is_upper(c) || is_lower(c) || is_digit(c) || c == '_'; }

// Header names whose value is a credential whatever its shape (as agent/secrets/argv_redact).
constexpr std::array<std::string_view, 9> kCredentialHeaders = {
    "authorization", "proxy-authorization", "x-api-key", "api-key", "x-goog-api-key",
    "private-token", "x-auth-token",        "x-api-token", "cookie"};

bool is_credential_header(std::string_view name) {
  std::string lowered = lowercase(trim(name));
  return std::find(kCredentialHeaders.begin(), kCredentialHeaders.end(), lowered) != kCredentialHeaders.end();
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return to_lower(x) == to_lower(y);
         });
}

// Typed type of a whole value, else `fallback`; a decodable JWT is "jwt".
std::string type_of(std::string_view value, std::string_view fallback, size_t* prefix_len) {
  *prefix_len = 0;
  if (std::optional<secrets::Detection> typed = secrets::classify_value(value)) {
    if (typed->offset == 0 && typed->length == value.size()) {
      *prefix_len = typed->prefix_len;
      return std::string(typed->type);
    }
  }
  if (secrets::decode_jwt(value)) return "jwt";
  return std::string(fallback);
}

struct Span {
  size_t offset;
  size_t length;
};

bool overlaps(const std::vector<Span>& taken, size_t offset, size_t length) {
  return std::any_of(taken.begin(), taken.end(), [&](const Span& s) {
    return offset < s.offset + s.length && s.offset < offset + length;
  });
}

// ${...} or {{...}} occurrences, in order.
std::vector<std::string_view> braced_references(std::string_view value) {
  std::vector<std::string_view> out;
  for (size_t at = 0; at < value.size();) {
    size_t dollar = value.find("${", at);
    size_t brace = value.find("{{", at);
    size_t start = std::min(dollar, brace);
    if (start == std::string_view::npos) break;
    std::string_view close = (start == dollar) ? "}" : "}}";
    if (start == dollar && value.substr(start).starts_with("${{")) close = "}}";
    size_t end = value.find(close, start + 2);
    if (end == std::string_view::npos) break;
    out.push_back(value.substr(start, end + close.size() - start));
    at = end + close.size();
  }
  return out;
}

// The whole value is $NAME or %NAME%.
bool is_bare_reference(std::string_view value) {
  auto identifier = [](std::string_view name) {
    return !name.empty() && !is_digit(name.front()) && std::all_of(name.begin(), name.end(), is_identifier_char);
  };
  if (value.size() >= 2 && value.front() == '$') return identifier(value.substr(1));
  return value.size() >= 3 && value.front() == '%' && value.back() == '%' && identifier(value.substr(1, value.size() - 2));
}

// Booleans, null and small numbers: settings ("always-auth=true"), not a credential slot left empty.
bool is_non_value_literal(std::string_view value) {
  static constexpr std::string_view kLiterals[] = {"true", "false", "yes", "no", "on", "off", "null",
                                                   "nil",  "none",  "undefined", "0", "1", "~"};
  std::string lowered = lowercase(trim(value));
  return std::find(std::begin(kLiterals), std::end(kLiterals), lowered) != std::end(kLiterals);
}

// A key that spells out its own value ("ghp_x…=ghp_x…"): the value is cut out of it.
std::string redact_value_in(std::string key, std::string_view value) {
  if (value.size() < 4) return key;
  constexpr std::string_view kMarker = "<redacted>";
  // Searching goes on after each marker: a value found inside the marker ("acted") is never replaced again.
  for (size_t at = key.find(value); at != std::string::npos; at = key.find(value, at + kMarker.size())) {
    key.replace(at, value.size(), kMarker);
  }
  // The marker itself, or a marker beside the key's own text, can still spell the value ("dacted>" in "<redacted>";
  // "d>wxyz" in "<redacted>wxyz" from "d>wxyzwxyz"): then the key is only a mark too short to hold any value.
  if (key.find(value) != std::string::npos) return "***";
  return key;
}

}  // namespace

std::string normalized_name(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 8);
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (c == '-' || c == '.' || c == ' ' || c == '/' || c == ':') {
      out.push_back('_');
      continue;
    }
    bool boundary = i > 0 && is_upper(c) &&
                    (is_lower(name[i - 1]) || is_digit(name[i - 1]) ||
                     (is_upper(name[i - 1]) && i + 1 < name.size() && is_lower(name[i + 1])));
    if (boundary && !out.empty() && out.back() != '_') out.push_back('_');
    out.push_back(to_upper(c));
  }
  return out;
}

bool is_secret_name(std::string_view name) {
  if (name.empty()) return false;
  std::string normalized = normalized_name(name);
  // The AWS key id is an identity that pairs with the secret key: kept although "*_ID" names are excluded.
  return normalized == "AWS_ACCESS_KEY_ID" || secret_names().matches(normalized);
}

std::string type_for_name(std::string_view name) {
  std::string normalized = normalized_name(name);
  for (const NameType& rule : kNameTypes) {
    if (normalized == rule.name) return std::string(rule.type);
  }
  return std::string(secrets::type_for_env_name(normalized));
}

bool has_reference(std::string_view value) {
  return !braced_references(value).empty() || is_bare_reference(trim(value));
}

std::string reference_tokens(std::string_view value) {
  std::vector<std::string_view> refs = braced_references(value);
  if (refs.empty() && is_bare_reference(trim(value))) refs.push_back(trim(value));
  std::string out;
  for (std::string_view ref : refs) {
    if (!out.empty()) out.push_back(' ');
    out += redact_for_output(ref.substr(0, 200));
  }
  return out;
}

std::string redact_for_output(std::string_view text) {
  std::vector<Span> spans;
  for (const secrets::Detection& d : secrets::scan_text(text)) spans.push_back({d.offset, d.length});
  for (const secrets::TextSpan& s : secrets::find_url_passwords(text)) {
    if (!overlaps(spans, s.offset, s.length)) spans.push_back({s.offset, s.length});
  }
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.offset < b.offset; });
  std::string out;
  size_t cursor = 0;
  for (const Span& s : spans) {
    if (s.offset < cursor) continue;
    out.append(text.substr(cursor, s.offset - cursor));
    out.append("<redacted>");
    cursor = s.offset + s.length;
  }
  out.append(text.substr(cursor));
  return out;
}

std::string percent_decode(std::string_view text) {
  auto hex = [](char c) -> int {
    if (is_digit(c)) return c - '0';
    c = to_lower(c);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
  };
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 && hex(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

void wipe(std::string& text) {
  if (!text.empty()) OPENSSL_cleanse(text.data(), text.size());
  text.clear();
}

// ---- FindingCollector ----

void FindingCollector::add_secret(std::string_view key, std::string_view value, std::string_view type,
                                  size_t prefix_len, int line) {
  Finding f;
  f.kind = FindingKind::secret;
  f.key = redact_value_in(redact_for_output(key), value);
  f.type = std::string(type);
  f.value = secrets::SecretBytes(value);
  f.prefix_len = prefix_len;
  f.line = line;
  f.server = server_;
  findings_.push_back(std::move(f));
}

void FindingCollector::add_reference(std::string_view key, std::string_view name, std::string_view value, int line) {
  Finding f;
  f.kind = FindingKind::reference;
  f.key = redact_for_output(key);
  f.type = type_for_name(name);
  f.reference = reference_tokens(value);
  f.line = line;
  f.server = server_;
  findings_.push_back(std::move(f));
}

void FindingCollector::add_error(std::string message) {
  if (errors_.size() < kMaxErrorMessages) {
    errors_.push_back(std::move(message));
  } else {
    ++more_errors_;
  }
}

ParseResult FindingCollector::take() {
  ParseResult result;
  result.findings = std::move(findings_);
  for (const std::string& e : errors_) result.error += (result.error.empty() ? "" : "; ") + e;
  if (more_errors_ > 0) result.error += "; and " + std::to_string(more_errors_) + " more";
  findings_.clear();
  errors_.clear();
  more_errors_ = 0;
  return result;
}

bool FindingCollector::scan_embedded(std::string_view key, std::string_view text, int line) {
  size_t before = findings_.size();
  std::vector<Span> taken;
  auto add_span = [&](size_t offset, size_t length, std::string_view fallback_type) {
    taken.push_back({offset, length});
    std::string value = percent_decode(text.substr(offset, length));
    if (secrets::is_placeholder(value) || has_reference(value)) {
      add_reference(key, "PASSWORD", value, line);
    } else {
      size_t prefix_len = 0;
      std::string type = type_of(value, fallback_type, &prefix_len);
      add_secret(key, value, type, prefix_len, line);
    }
    wipe(value);
  };
  for (const secrets::TextSpan& s : secrets::find_url_passwords(text)) add_span(s.offset, s.length, "url_password");
  for (const secrets::TextSpan& s : secrets::find_secret_query_values(text)) {
    if (!overlaps(taken, s.offset, s.length) && s.length > 0) add_span(s.offset, s.length, "generic_api_key");
  }
  for (const secrets::Detection& d : secrets::scan_text(text)) {
    std::string_view value = text.substr(d.offset, d.length);
    if (overlaps(taken, d.offset, d.length) || secrets::is_placeholder(value)) continue;
    taken.push_back({d.offset, d.length});
    add_secret(key, value, d.type, d.prefix_len, line);
  }
  return findings_.size() > before;
}

bool FindingCollector::add_basic_auth(std::string_view key, std::string_view encoded, int line) {
  std::optional<std::string> decoded =
      common::base64_decode(trim(encoded), common::Base64Alphabet::standard_or_url);
  if (!decoded) return false;
  size_t colon = decoded->find(':');
  bool ok = colon != std::string::npos;
  if (ok) {
    std::string_view text = *decoded;
    std::string_view password = text.substr(colon + 1);
    if (password.empty()) password = text.substr(0, colon);  // the key-as-user-name convention
    if (secrets::is_placeholder(password) || has_reference(password)) {
      add_reference(key, "AUTH", password, line);
    } else {
      size_t prefix_len = 0;
      std::string type = type_of(password, "basic_auth", &prefix_len);
      add_secret(key, password, type, prefix_len, line);
    }
  }
  wipe(*decoded);
  return ok;
}

void FindingCollector::judge_authorization(std::string_view key, std::string_view value, int line) {
  value = trim(value);
  size_t space = value.find_first_of(" \t");
  std::string_view scheme = value.substr(0, space);
  std::string_view rest = space == std::string_view::npos ? std::string_view() : trim(value.substr(space));
  if (rest.empty()) return judge(key, "AUTHORIZATION_TOKEN", value, line);
  if (iequals(scheme, "basic") && !has_reference(rest) && add_basic_auth(key, rest, line)) return;
  if (iequals(scheme, "bearer") || iequals(scheme, "token") || iequals(scheme, "bot") || iequals(scheme, "basic")) {
    return judge(key, "AUTHORIZATION_TOKEN", rest, line);
  }
  scan_embedded(key, value, line);  // Digest, AWS4-HMAC-SHA256, …: typed tokens only
}

void FindingCollector::judge_header(std::string_view key, std::string_view header_name, std::string_view value,
                                    int line) {
  std::string lowered = lowercase(trim(header_name));
  if (lowered == "authorization" || lowered == "proxy-authorization") return judge_authorization(key, value, line);
  if (is_credential_header(lowered)) return judge(key, "API_KEY", value, line);
  judge(key, header_name, value, line);
}

// "Authorization: Bearer X" / "x-api-key: X" as a whole value (args, gitconfig extraheader).
bool FindingCollector::judge_credential_header_line(std::string_view key, std::string_view value, int line) {
  size_t colon = value.find(':');
  if (colon == std::string_view::npos || !is_credential_header(value.substr(0, colon))) return false;
  judge_header(key, value.substr(0, colon), value.substr(colon + 1), line);
  return true;
}

void FindingCollector::judge(std::string_view key, std::string_view name, std::string_view value, int line) {
  value = trim(value);
  if (value.empty()) return;
  std::vector<PemBlock> blocks = find_pem_blocks(value);
  bool any_key = false;
  for (const PemBlock& block : blocks) {
    if (block.type.empty() || block.body.size() == 0) continue;
    add_secret(key, block.body.view(), block.type, 0, line);
    any_key = true;
  }
  if (any_key) return;
  bool secret_name = is_secret_name(name);
  if (secrets::is_placeholder(value)) {
    if (secret_name && !is_non_value_literal(value)) add_reference(key, name, value, line);
    return;
  }
  if (std::optional<secrets::Detection> typed = secrets::classify_value(value)) {
    return add_secret(key, value.substr(typed->offset, typed->length), typed->type, typed->prefix_len, line);
  }
  if (judge_credential_header_line(key, value, line)) return;
  if (scan_embedded(key, value, line)) return;
  if (has_reference(value)) {
    if (secret_name) add_reference(key, name, value, line);
    return;
  }
  if (!secret_name || value.size() < kMinNameOnlyLength || secrets::looks_like_file_path(value)) return;
  size_t prefix_len = 0;
  std::string type = type_of(value, type_for_name(name), &prefix_len);
  add_secret(key, value, type, prefix_len, line);
}

}  // namespace credtrace::credfiles::detail
