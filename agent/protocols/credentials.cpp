// Credentials carried by an HTTP request: context rules for headers, cookies, query and body fields.
#include "protocols/credentials.h"

#include <algorithm>
#include <array>
#include <optional>

#include "protocols/credential_rules.h"
#include "protocols/jsonrpc/json_scanner.h"
#include "protocols/text.h"
#include "secrets/detectors.h"
#include "secrets/jwt.h"
#include "secrets/placeholders.h"

namespace credtrace::protocols {
namespace {

using detail::Carrier;
using detail::carrier;
using detail::Findings;
using detail::iequals;
using detail::passes_generic_rule;
using detail::trim_ows;
using detail::unquote;

// Header names whose whole value is a credential (an API key) whatever its shape.
constexpr std::array<std::string_view, 6> kApiKeyHeaders = {"x-api-key",     "api-key",      "x-goog-api-key",
                                                            "private-token", "x-auth-token", "x-api-token"};
constexpr std::array<std::string_view, 6> kQueryParams = {"key", "api_key", "apikey", "access_token", "token", "auth"};

struct BodyField {
  std::string_view name;
  std::string_view generic_type;
};
constexpr std::array<BodyField, 5> kBodyFields = {{{"client_secret", "oauth_client_secret"},
                                                   {"refresh_token", "oauth_refresh_token"},
                                                   {"access_token", "oauth_access_token"},
                                                   {"password", "password"},
                                                   {"api_key", "generic_api_key"}}};

// A vendor's token header: "x-NAME-token" (HashiCorp's X-Vault-Token, X-Nomad-Token, X-Consul-Token, and their kind),
// but not CSRF/XSRF, paging, idempotency or request tokens (not credentials). The value still has to pass the generic
// rule (length, entropy, not a placeholder).
bool is_vendor_token_header(std::string_view lower_name) {
  if (!lower_name.starts_with("x-") || !lower_name.ends_with("-token") || lower_name.size() <= 8) return false;
  // Tokens that are not credentials: anti-forgery, paging, idempotency and request correlation.
  for (std::string_view not_a_credential : {"csrf", "xsrf", "page", "continuation", "idempotency", "request",
                                             "cursor", "sync", "nonce"})
    if (lower_name.find(not_a_credential) != std::string_view::npos) return false;
  return true;
}

template <size_t N>
bool contains(const std::array<std::string_view, N>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::optional<std::string_view> body_field_type(std::string_view lower_name) {
  for (const BodyField& field : kBodyFields) {
    if (field.name == lower_name) return field.generic_type;
  }
  return std::nullopt;
}

// Authorization: Bearer|token|Bot <v>.
void add_bearer(Findings& findings, std::string_view token, const Carrier& where, std::string_view scheme) {
  std::string_view value = unquote(token);
  if (value.empty() || secrets::is_placeholder(value)) return;
  if (std::optional<secrets::Detection> typed = secrets::classify_value(value)) {
    std::string_view type = typed->type == "jwt" ? std::string_view("bearer_jwt") : typed->type;
    findings.add(value.substr(typed->offset, typed->length), type, typed->prefix_len, where, scheme);
  } else if (secrets::decode_jwt(value)) {
    findings.add(value, "bearer_jwt", 0, where, scheme);
  } else if (passes_generic_rule(value)) {
    findings.add(value, "generic_bearer", 0, where, scheme);
  }
}

// Authorization: Basic base64(user:password). The password is the credential; with an empty password (the
// "key as user name" convention) the user name is.
void add_basic(Findings& findings, std::string_view encoded, const Carrier& where) {
  std::optional<std::string> decoded = detail::base64_decode(trim_ows(encoded));
  if (!decoded) return;
  std::string_view text = *decoded;
  size_t colon = text.find(':');
  if (colon != std::string_view::npos) {
    std::string_view user = text.substr(0, colon);
    std::string_view password = text.substr(colon + 1);
    bool key_as_user = password.empty();
    if (key_as_user) std::swap(user, password);
    std::optional<secrets::Detection> typed = secrets::classify_value(password);
    bool whole = typed && typed->offset == 0 && typed->length == password.size();
    bool credible = key_as_user ? (whole || passes_generic_rule(password)) : !password.empty();
    if (credible && !secrets::is_placeholder(password)) {
      findings.add(password, whole ? typed->type : std::string_view("basic_auth"), whole ? typed->prefix_len : 0,
                   where, "Basic", user);
    }
  }
  detail::wipe(*decoded);
}

bool is_access_key_char(char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// The access key id of a SigV4 credential scope "AKIA…/date/region/service/aws4_request".
std::optional<std::string_view> sigv4_key_id(std::string_view scope) {
  std::string_view key = scope.substr(0, scope.find('/'));
  if (key.size() < 16 || key.size() > 128 || !std::all_of(key.begin(), key.end(), is_access_key_char)) {
    return std::nullopt;
  }
  return key;
}

void add_aws_key_id(Findings& findings, std::string_view key, const Carrier& where, std::string_view scheme) {
  std::optional<secrets::Detection> typed = secrets::classify_value(key);
  findings.add(key, "aws_access_key_id", typed ? typed->prefix_len : 0, where, scheme);
}

// Authorization: AWS4-HMAC-SHA256 Credential=AKIA…/date/region/service/aws4_request, SignedHeaders=…, Signature=…
void add_sigv4(Findings& findings, std::string_view params, const Carrier& where) {
  constexpr std::string_view kCredential = "Credential=";
  size_t at = params.find(kCredential);
  if (at == std::string_view::npos) return;
  std::string_view scope = params.substr(at + kCredential.size());
  scope = scope.substr(0, scope.find_first_of(", "));
  if (std::optional<std::string_view> key = sigv4_key_id(scope)) add_aws_key_id(findings, *key, where, "AWS4-HMAC-SHA256");
}

void add_authorization(Findings& findings, const HttpHeader& header) {
  const Carrier where = carrier("header", header.name);
  std::string_view value = trim_ows(header.value);
  size_t space = value.find_first_of(" \t");
  std::string_view scheme = value.substr(0, space);
  std::string_view rest = space == std::string_view::npos ? std::string_view() : trim_ows(value.substr(space));
  if (iequals(scheme, "bearer")) return add_bearer(findings, rest, where, "Bearer");
  if (iequals(scheme, "token")) return add_bearer(findings, rest, where, "token");
  if (iequals(scheme, "bot")) return add_bearer(findings, rest, where, "Bot");
  if (iequals(scheme, "basic")) return add_basic(findings, rest, where);
  if (iequals(scheme, "aws4-hmac-sha256")) return add_sigv4(findings, rest, where);
  if (rest.empty()) return findings.add_contextual(value, "generic_api_key", where);  // a bare key, no scheme
  findings.add_scanned(value, where);                                                 // Digest, OAuth, …
}

void add_cookies(Findings& findings, std::string_view cookies) {
  size_t start = 0;
  while (start < cookies.size()) {
    size_t end = std::min(cookies.find(';', start), cookies.size());
    std::string_view pair = trim_ows(cookies.substr(start, end - start));
    size_t eq = pair.find('=');
    if (eq != std::string_view::npos) {
      std::string_view name = trim_ows(pair.substr(0, eq));
      std::string_view value = pair.substr(eq + 1);
      if (detail::is_session_cookie_name(name)) {
        findings.add_contextual(value, "session_cookie", carrier("cookie", name));
      } else {
        findings.add_if_typed(value, carrier("cookie", name));
      }
    }
    start = end + 1;
  }
}

void add_header(Findings& findings, const HttpHeader& header) {
  if (header.name == "authorization" || header.name == "proxy-authorization") return add_authorization(findings, header);
  if (contains(kApiKeyHeaders, header.name)) {
    return findings.add_contextual(header.value, "generic_api_key", carrier("header", header.name));
  }
  if (header.name == "x-amz-security-token") {
    return findings.add_contextual(header.value, "aws_session_token", carrier("header", header.name));
  }
  if (is_vendor_token_header(header.name)) {  // X-Vault-Token, X-Nomad-Token, X-Consul-Token, ...
    return findings.add_contextual(header.value, "generic_token", carrier("header", header.name));
  }
  if (header.name == "cookie") return add_cookies(findings, header.value);
  if (detail::is_structured_header(header.name)) return;
  findings.add_scanned(header.value, carrier("header", header.name));
}

// A query or form body without its leading '?'.
std::string_view without_question_mark(std::string_view encoded) {
  if (encoded.starts_with('?')) encoded.remove_prefix(1);
  return encoded;
}

void add_query_param(Findings& findings, std::string_view name, std::string_view value) {
  std::string lower = detail::to_lower(name);
  const Carrier where = carrier("query", lower);
  if (contains(kQueryParams, lower)) {
    std::string_view generic = lower.find("key") != std::string::npos ? "generic_api_key" : "generic_token";
    return findings.add_contextual(value, generic, where);
  }
  if (lower == "x-amz-credential") {
    if (std::optional<std::string_view> key = sigv4_key_id(value)) add_aws_key_id(findings, *key, where, "");
    return;
  }
  if (lower == "x-amz-security-token") return findings.add_contextual(value, "aws_session_token", where);
  findings.add_if_typed(value, where);
}

void add_body_field(Findings& findings, std::string_view name, std::string_view value) {
  std::string lower = detail::to_lower(name);
  const Carrier where = carrier("body", lower);
  if (std::optional<std::string_view> generic = body_field_type(lower)) {
    return findings.add_contextual(value, *generic, where);
  }
  findings.add_if_typed(value, where);
}

// The top-level string members of a JSON object body, each offered as a body field as soon as it is complete (a body
// cut short still yields the members before the cut). Scanned in place, without building a document: a member name
// or value is copied only when it holds escapes (the copy is wiped).
class TopLevelStringFields final : public jsonrpc::JsonHandler {
 public:
  explicit TopLevelStringFields(Findings& findings) : findings_(findings) {}
  ~TopLevelStringFields() override {
    detail::wipe(decoded_key_);
    detail::wipe(decoded_value_);
  }
  void begin_container(jsonrpc::JsonType type, size_t /*offset*/) override {
    if (depth_ == 0 && type != jsonrpc::JsonType::kObject) root_is_object_ = false;
    ++depth_;
    has_key_ = false;
  }
  void end_container(jsonrpc::JsonType /*type*/, size_t /*end*/) override {
    --depth_;
    has_key_ = false;
  }
  void key(std::string_view raw, bool escaped) override {
    if (depth_ != 1) return;
    has_key_ = true;
    key_ = raw;
    if (escaped) key_ = detail::decode_json_string(raw, decoded_key_);
  }
  void scalar(jsonrpc::JsonType type, std::string_view raw, bool escaped, size_t /*offset*/) override {
    const bool member = depth_ == 1 && has_key_ && root_is_object_;
    has_key_ = false;
    if (!member || type != jsonrpc::JsonType::kString) return;
    add_body_field(findings_, key_, escaped ? detail::decode_json_string(raw, decoded_value_) : raw);
  }

 private:
  Findings& findings_;
  int depth_ = 0;
  bool root_is_object_ = true;
  bool has_key_ = false;
  std::string_view key_;
  std::string decoded_key_;
  std::string decoded_value_;
};

void add_json_body(Findings& findings, std::string_view body) {
  TopLevelStringFields fields(findings);
  jsonrpc::scan_json(body, fields);
}

const HttpHeader* find_header(const HttpRequest& request, std::string_view name) {
  for (const HttpHeader& header : request.headers) {
    if (header.name == name) return &header;
  }
  return nullptr;
}

void add_body(Findings& findings, const HttpRequest& request) {
  if (request.body_prefix.empty()) return;
  const HttpHeader* content_type = find_header(request, "content-type");
  std::string_view type = content_type != nullptr ? std::string_view(content_type->value) : std::string_view();
  std::string_view body = trim_ows(request.body_prefix);
  bool json = detail::icontains(type, "json") || (type.empty() && body.starts_with('{'));
  if (json) return add_json_body(findings, body);
  if (detail::icontains(type, "x-www-form-urlencoded")) {
    auto field = [&](std::string_view name, std::string_view value) { add_body_field(findings, name, value); };
    detail::for_each_pair(without_question_mark(body), field);
  }
}

}  // namespace

std::vector<CarriedCredential> credentials_in_request(const HttpRequest& request, std::string_view raw_query) {
  Findings findings;
  for (const HttpHeader& header : request.headers) add_header(findings, header);
  detail::for_each_pair(without_question_mark(raw_query), [&](std::string_view name, std::string_view value) {
    add_query_param(findings, name, value);
  });
  add_body(findings, request);
  return findings.take();
}

void cleanse(CarriedCredential& credential) { detail::wipe(credential.value); }

void cleanse(std::vector<CarriedCredential>& credentials) {
  for (CarriedCredential& credential : credentials) cleanse(credential);
}

}  // namespace credtrace::protocols
