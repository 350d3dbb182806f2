// OAuth token requests and answers (RFC 6749, 7523, 8628, 8693, 8707, PKCE): grant type, client, what was asked
// for, the credentials presented and issued. Form and JSON bodies; HTTP Basic client authentication.
#include "protocols/oauth/token_request.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <utility>

#include "protocols/credential_rules.h"
#include "protocols/text.h"
#include "secrets/argv_redact.h"
#include "secrets/detectors.h"
#include "secrets/jwt.h"

namespace credtrace::protocols::oauth {
namespace {

using Json = nlohmann::ordered_json;
using detail::icontains;
using detail::trim_ows;
using detail::wipe;

constexpr size_t kMaxFields = 256;  // body fields read per message

// One name=value of a body, decoded. The value may be a secret: Fields wipes it.
struct Field {
  std::string name;
  std::string value;
};

// The fields of one body; every value is wiped when it goes.
class Fields {
 public:
  // Reserved once: a reallocation would move short values (kept inline in std::string) and free the old storage
  // unwiped.
  Fields() { items_.reserve(kMaxFields); }
  Fields(const Fields&) = delete;
  Fields& operator=(const Fields&) = delete;
  ~Fields() {
    for (Field& field : items_) wipe(field.value);
  }
  void add(std::string_view name, std::string_view value) {
    if (items_.size() < kMaxFields) items_.push_back({std::string(name), std::string(value)});
  }
  // The first value of `name`, or nullptr.
  const std::string* first(std::string_view name) const {
    for (const Field& field : items_) {
      if (field.name == name) return &field.value;
    }
    return nullptr;
  }
  std::vector<const std::string*> all(std::string_view name) const {
    std::vector<const std::string*> out;
    for (const Field& field : items_) {
      if (field.name == name) out.push_back(&field.value);
    }
    return out;
  }
  bool empty() const { return items_.empty(); }

 private:
  std::vector<Field> items_;
};

// Overwrites every string value of a document (keys are names, not secrets). Iterative: any nesting depth.
void wipe_json(Json& document) {
  std::vector<Json*> stack = {&document};
  while (!stack.empty()) {
    Json* value = stack.back();
    stack.pop_back();
    if (value->is_string()) {
      wipe(value->get_ref<std::string&>());
    } else if (value->is_object()) {
      for (auto it = value->begin(); it != value->end(); ++it) stack.push_back(&it.value());
    } else if (value->is_array()) {
      for (Json& element : *value) stack.push_back(&element);
    }
  }
}

// A top-level member: strings as they are, numbers as decimal integers (3600.0 → "3600"), arrays of strings as one
// field per element.
void add_json_member(Fields& fields, const std::string& name, const Json& value) {
  if (value.is_string()) return fields.add(name, value.get_ref<const std::string&>());
  if (value.is_number_integer()) return fields.add(name, std::to_string(value.get<int64_t>()));
  if (value.is_number_float()) {
    const double number = value.get<double>();
    if (number > -9.0e18 && number < 9.0e18) fields.add(name, std::to_string(static_cast<int64_t>(number)));
    return;
  }
  if (!value.is_array()) return;
  for (const Json& element : value) {
    if (element.is_string()) fields.add(name, element.get_ref<const std::string&>());
  }
}

// false when the body is not a JSON object.
bool read_json(std::string_view body, Fields& fields) {
  Json document = Json::parse(body.begin(), body.end(), nullptr, false);
  if (document.is_discarded()) return false;
  const bool object = document.is_object();
  if (object) {
    for (auto it = document.begin(); it != document.end(); ++it) add_json_member(fields, it.key(), it.value());
  }
  wipe_json(document);
  return object;
}

// A cut body's last pair may be cut too: it is left out (a partial value would give a wrong fingerprint).
void read_form(std::string_view body, bool truncated, Fields& fields) {
  if (truncated) {
    size_t last = body.rfind('&');
    body = last == std::string_view::npos ? std::string_view() : body.substr(0, last);
  }
  if (body.starts_with('?')) body.remove_prefix(1);
  detail::for_each_pair(body, [&](std::string_view name, std::string_view value) { fields.add(name, value); });
}

std::string_view trim_space(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  size_t first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kSpace) - first + 1);
}

template <typename Message>
std::string_view content_type_of(const Message& message) {
  for (const HttpHeader& header : message.headers) {
    if (header.name == "content-type") return header.value;
  }
  return {};
}

enum class BodyKind { kNone, kJson, kForm };

// JSON when declared or when it starts with '{'; a form when declared, or untyped (or text/plain) and form-shaped.
BodyKind body_kind(std::string_view content_type, std::string_view body) {
  if (body.empty()) return BodyKind::kNone;
  if (icontains(content_type, "json")) return BodyKind::kJson;
  if (icontains(content_type, "x-www-form-urlencoded")) return BodyKind::kForm;
  if (body.front() == '{') return BodyKind::kJson;
  const bool untyped = content_type.empty() || icontains(content_type, "text/plain");
  if (untyped && body.find('=') != std::string_view::npos && body.find_first_of(" \t\r\n<\"") == std::string_view::npos) {
    return BodyKind::kForm;
  }
  return BodyKind::kNone;
}

// A value exported as it is (client_id, scope, audience, …): typed credentials and the like in it redacted, cut
// at kMaxPublicValue.
std::string public_value(std::string_view raw) {
  std::string text = secrets::redact_text(raw);
  if (text.size() > kMaxPublicValue) {
    text.resize(kMaxPublicValue);
    while (!text.empty() && (static_cast<unsigned char>(text.back()) & 0xC0) == 0x80) text.pop_back();  // UTF-8
    if (!text.empty()) text.pop_back();
    text += "\u2026";
  }
  return text;
}

struct GrantName {
  std::string_view sent;
  std::string_view short_name;
};
constexpr std::array<GrantName, 11> kGrants = {{
    {"authorization_code", "authorization_code"},
    {"refresh_token", "refresh_token"},
    {"client_credentials", "client_credentials"},
    {"password", "password"},
    {"urn:ietf:params:oauth:grant-type:token-exchange", "token_exchange"},
    {"urn:ietf:params:oauth:grant-type:jwt-bearer", "jwt_bearer"},
    {"urn:ietf:params:oauth:grant-type:saml2-bearer", "saml2_bearer"},
    {"urn:ietf:params:oauth:grant-type:device_code", "device_code"},
    {"device_code", "device_code"},
    {"token_exchange", "token_exchange"},
    {"jwt_bearer", "jwt_bearer"},
}};

// The generic type of a role's value when no typed rule recognises it.
std::string_view generic_type_of(std::string_view role, std::string_view token_type) {
  if (role == "client_secret" || role == "basic_auth") return "oauth_client_secret";
  if (role == "client_assertion" || role == "assertion") return "oauth_assertion";
  if (role == "code") return "oauth_authorization_code";
  if (role == "refresh_token") return "oauth_refresh_token";
  if (role == "access_token") return "oauth_access_token";
  if (role == "password") return "password";
  if (role == "device_code") return "oauth_device_code";
  if (token_type.find("refresh_token") != std::string_view::npos) return "oauth_refresh_token";
  if (token_type.find("access_token") != std::string_view::npos) return "oauth_access_token";
  return "generic_token";
}

// A credential of `role`: its typed type when the whole value is one, a JWT as "jwt", else the role's generic type.
ExchangedValue exchanged(std::string_view role, std::string_view raw, std::string_view token_type) {
  ExchangedValue out;
  out.role = std::string(role);
  out.value = std::string(raw);
  out.token_type = public_value(token_type);
  std::optional<secrets::Detection> typed = secrets::classify_value(raw);
  if (typed && typed->offset == 0 && typed->length == raw.size()) {
    out.type = std::string(typed->type);
    out.prefix_len = typed->prefix_len;
  } else if (secrets::decode_jwt(raw)) {
    out.type = "jwt";
  } else {
    out.type = std::string(generic_type_of(role, token_type));
  }
  return out;
}

std::string_view value_or_empty(const std::string* value) { return value ? std::string_view(*value) : std::string_view(); }

// Body fields that are presented credentials, and the field naming each one's token type.
struct PresentedField {
  std::string_view name;
  std::string_view type_field;
};
constexpr std::array<PresentedField, 9> kPresented = {{{"client_secret", ""},
                                                       {"client_assertion", "client_assertion_type"},
                                                       {"code", ""},
                                                       {"refresh_token", ""},
                                                       {"subject_token", "subject_token_type"},
                                                       {"actor_token", "actor_token_type"},
                                                       {"assertion", ""},
                                                       {"password", ""},
                                                       {"device_code", ""}}};

void add_presented(const Fields& fields, TokenRequest& out) {
  out.presented.reserve(out.presented.size() + std::size(kPresented) + 1);  // + basic_auth: never reallocated
  for (const PresentedField& field : kPresented) {
    const std::string* value = fields.first(field.name);
    if (value == nullptr || value->empty()) continue;
    std::string_view token_type = field.type_field.empty() ? std::string_view() : value_or_empty(fields.first(field.type_field));
    out.presented.push_back(exchanged(field.name, *value, token_type));
  }
}

std::vector<std::string> public_list(const Fields& fields, std::string_view name) {
  std::vector<std::string> out;
  for (const std::string* value : fields.all(name)) {
    if (out.size() == kMaxListValues) break;
    if (!value->empty()) out.push_back(public_value(*value));
  }
  return out;
}

// Authorization: Basic base64(form-encoded client_id ":" form-encoded client_secret).
void add_basic_auth(const HttpRequest& request, TokenRequest& out) {
  for (const HttpHeader& header : request.headers) {
    if (header.name != "authorization") continue;
    std::string_view value = trim_ows(header.value);
    if (value.size() < 6 || !detail::iequals(value.substr(0, 6), "basic ")) continue;
    std::optional<std::string> decoded = detail::base64_decode(trim_ows(value.substr(6)));
    if (!decoded) continue;
    size_t colon = decoded->find(':');
    if (colon != std::string::npos) {
      std::string user = detail::percent_decode(std::string_view(*decoded).substr(0, colon), true);
      std::string password = detail::percent_decode(std::string_view(*decoded).substr(colon + 1), true);
      if (out.client_id.empty()) out.client_id = public_value(user);
      if (!password.empty()) out.presented.push_back(exchanged("basic_auth", password, ""));
      wipe(user);
      wipe(password);
    }
    wipe(*decoded);
    return;
  }
}

TokenRequest interpret(const Fields& fields, const HttpRequest& request) {
  TokenRequest out;
  out.grant_type = short_grant_type(*fields.first("grant_type"));
  out.client_id = public_value(value_or_empty(fields.first("client_id")));
  out.resource = public_list(fields, "resource");
  out.audience = public_list(fields, "audience");
  out.scope = public_value(value_or_empty(fields.first("scope")));
  out.requested_token_type = public_value(value_or_empty(fields.first("requested_token_type")));
  const std::string* verifier = fields.first("code_verifier");
  out.pkce = verifier != nullptr && !verifier->empty();
  add_presented(fields, out);
  add_basic_auth(request, out);
  return out;
}

// RFC 6749 §5.2: error codes are printable ASCII without '"' and '\'; anything else is not reported as sent.
std::string error_code(std::string_view error) {
  if (error.empty()) return {};
  if (error.size() > 64) return "<invalid>";
  for (char c : error) {
    const bool code_char = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                           std::string_view("_-.:").find(c) != std::string_view::npos;
    if (!code_char) return "<invalid>";
  }
  return std::string(error);
}

std::optional<int64_t> integer_of(std::string_view text) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

void add_issued(const Fields& fields, TokenResponse& out) {
  const std::string_view token_type = fields.first("issued_token_type") ? value_or_empty(fields.first("issued_token_type"))
                                                                         : value_or_empty(fields.first("token_type"));
  out.issued.reserve(out.issued.size() + 3);  // never reallocated: short raw values would be left behind
  for (std::string_view role : {"access_token", "refresh_token", "id_token"}) {
    const std::string* value = fields.first(role);
    if (value == nullptr || value->empty()) continue;
    ExchangedValue issued = exchanged(role, *value, role == "access_token" ? token_type : std::string_view());
    if (role == "access_token") {
      if (const std::string* expires = fields.first("expires_in")) issued.expires_in = integer_of(*expires);
    }
    out.issued.push_back(std::move(issued));
  }
}

}  // namespace

bool declares_form_body(const HttpRequest& request) {
  return icontains(content_type_of(request), "x-www-form-urlencoded");
}

std::string short_grant_type(std::string_view grant_type) {
  for (const GrantName& grant : kGrants) {
    if (grant.sent == grant_type) return std::string(grant.short_name);
  }
  return public_value(grant_type);
}

TokenRequestParse parse_token_request(const HttpRequest& request) {
  TokenRequestParse out;
  std::string_view body = trim_space(request.body_prefix);
  if (body.find("grant_type") == std::string_view::npos) return out;
  Fields fields;
  switch (body_kind(content_type_of(request), body)) {
    case BodyKind::kJson:
      if (!read_json(body, fields)) out.verdict = TokenRequestParse::Verdict::kUnparsed;
      break;
    case BodyKind::kForm: read_form(body, request.body_truncated, fields); break;
    case BodyKind::kNone: return out;
  }
  const std::string* grant = fields.first("grant_type");
  if (grant == nullptr || grant->empty()) {
    // Mentioned but not read: a cut JSON body, or a form cut before its grant_type.
    if (request.body_truncated || out.verdict == TokenRequestParse::Verdict::kUnparsed) {
      out.verdict = TokenRequestParse::Verdict::kUnparsed;
    }
    return out;
  }
  out.verdict = TokenRequestParse::Verdict::kToken;
  out.request = interpret(fields, request);
  out.request.body_truncated = request.body_truncated;
  return out;
}

TokenResponse parse_token_response(const HttpResponse& response) {
  TokenResponse out;
  out.status = response.status;
  std::string_view body = trim_space(response.body_prefix);
  if (body.empty()) return out;
  Fields fields;
  BodyKind kind = response.body_encoded ? BodyKind::kNone : body_kind(content_type_of(response), body);
  if (kind == BodyKind::kJson) {
    out.unparsed = !read_json(body, fields);
  } else if (kind == BodyKind::kForm) {
    read_form(body, response.body_truncated, fields);
  } else {
    out.unparsed = true;
  }
  out.error = error_code(value_or_empty(fields.first("error")));
  add_issued(fields, out);
  return out;
}

void cleanse(TokenRequest& request) {
  for (ExchangedValue& value : request.presented) wipe(value.value);
}

void cleanse(TokenResponse& response) {
  for (ExchangedValue& value : response.issued) wipe(value.value);
}

}  // namespace credtrace::protocols::oauth
