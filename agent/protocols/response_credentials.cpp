// Credentials issued by a server in an HTTP response: token/API-key fields of JSON and form bodies, Set-Cookie.
#include "protocols/response_credentials.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <string>
#include <string_view>

#include "protocols/credential_rules.h"
#include "protocols/text.h"

namespace credtrace::protocols {
namespace {

using Json = nlohmann::ordered_json;
using detail::Carrier;
using detail::carrier;
using detail::Findings;
using detail::kMaxCarrierName;
using detail::trim_ows;
constexpr size_t kMaxJsonValues = 4096;  // values visited per body
constexpr std::string_view kBodyCarrier = "response:body";
constexpr std::string_view kCookieCarrier = "response:set-cookie";
constexpr std::string_view kHeaderCarrier = "response:header";

// Field names (lower-cased, '_' and '-' removed) whose value is an issued credential, and its generic type.
struct IssuedField {
  std::string_view name;
  std::string_view generic_type;
};
constexpr std::array<IssuedField, 10> kIssuedFields = {{{"accesstoken", "oauth_access_token"},
                                                        {"refreshtoken", "oauth_refresh_token"},
                                                        {"idtoken", "generic_token"},
                                                        {"token", "generic_token"},
                                                        {"sessiontoken", "generic_token"},
                                                        {"apikey", "generic_api_key"},
                                                        {"key", "generic_api_key"},
                                                        {"clientsecret", "oauth_client_secret"},
                                                        {"secret", "generic_api_key"},
                                                        {"password", "password"}}};

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Lower-cased, '_' and '-' removed: access_token, accessToken and Access-Token compare equal.
std::string normalized_name(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    if (c != '_' && c != '-') out.push_back(detail::ascii_lower(c));
  }
  return out;
}

const IssuedField* issued_field(std::string_view name) {
  if (name.size() > kMaxCarrierName) return nullptr;
  std::string normalized = normalized_name(name);
  for (const IssuedField& field : kIssuedFields) {
    if (field.name == normalized) return &field;
  }
  return nullptr;
}

// For the ambiguous name "key" (object keys, cache keys, i18n keys): [A-Za-z0-9_+/=-], a letter and a digit.
bool token_shaped(std::string_view value) {
  bool letter = false;
  bool digit = false;
  for (char c : value) {
    if (is_letter(c)) {
      letter = true;
    } else if (is_digit(c)) {
      digit = true;
    } else if (std::string_view("_+/=-").find(c) == std::string_view::npos) {
      return false;
    }
  }
  return letter && digit;
}

// A named field of a JSON or form body. Field names match ignoring case, '_' and '-'; a "key" that is not
// token-shaped counts only when typed.
void add_body_field(Findings& findings, std::string_view name, std::string_view value) {
  const Carrier where = carrier(kBodyCarrier, detail::to_lower(name));  // lower-cased field name
  const IssuedField* field = issued_field(name);
  if (field != nullptr && (field->name != "key" || token_shaped(detail::unquote(value)))) {
    return findings.add_contextual(value, field->generic_type, where);
  }
  findings.add_if_typed(value, where);
}

// Strings of objects and arrays up to kMaxResponseJsonDepth levels below the top. `key` names the member that
// holds `value` ("" at the top level); strings in arrays only count when typed.
void visit_json(Findings& findings, const Json& value, std::string_view key, bool in_array, size_t depth,
                size_t& budget) {
  if (budget == 0) return;
  --budget;
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    if (key.empty() || in_array) {
      return findings.add_if_typed(text, key.empty() ? Carrier::bare(kBodyCarrier)
                                                     : carrier(kBodyCarrier, detail::to_lower(key)));
    }
    return add_body_field(findings, key, text);
  }
  if (depth > kMaxResponseJsonDepth) return;
  if (value.is_object()) {
    for (auto it = value.begin(); it != value.end(); ++it) {
      visit_json(findings, it.value(), it.key(), false, depth + 1, budget);
    }
  } else if (value.is_array()) {
    for (const Json& element : value) visit_json(findings, element, key, true, depth + 1, budget);
  }
}

// Overwrites every string value of the document (keys are names, not secrets). Iterative: any nesting depth.
void wipe_json(Json& document) {
  std::vector<Json*> stack = {&document};
  while (!stack.empty()) {
    Json* value = stack.back();
    stack.pop_back();
    if (value->is_string()) {
      detail::wipe(value->get_ref<std::string&>());
    } else if (value->is_object()) {
      for (auto it = value->begin(); it != value->end(); ++it) stack.push_back(&it.value());
    } else if (value->is_array()) {
      for (Json& element : *value) stack.push_back(&element);
    }
  }
}

void add_json_body(Findings& findings, std::string_view body) {
  Json document = Json::parse(body.begin(), body.end(), nullptr, false);
  if (document.is_discarded()) return;
  size_t budget = kMaxJsonValues;
  visit_json(findings, document, "", false, 0, budget);
  wipe_json(document);
}

// "a=b&c=d" without whitespace or markup: a form body served as text/plain or without a type.
bool looks_like_form(std::string_view body) {
  if (body.find('=') == std::string_view::npos) return false;
  return std::all_of(body.begin(), body.end(), [](char c) {
    return static_cast<unsigned char>(c) > 0x20 && c != 0x7f && c != '<' && c != '{' && c != '"';
  });
}

std::string_view trim_space(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  size_t first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kSpace) - first + 1);
}

const HttpHeader* find_header(const HttpResponse& response, std::string_view name) {
  for (const HttpHeader& header : response.headers) {
    if (header.name == name) return &header;
  }
  return nullptr;
}

void add_body(Findings& findings, const HttpResponse& response) {
  if (response.body_encoded || response.body_prefix.empty()) return;
  const HttpHeader* content_type = find_header(response, "content-type");
  std::string_view type = content_type != nullptr ? std::string_view(content_type->value) : std::string_view();
  std::string_view body = trim_space(response.body_prefix);
  if (body.empty()) return;
  bool form_type = detail::icontains(type, "x-www-form-urlencoded");
  if (detail::icontains(type, "json") || (!form_type && (body.front() == '{' || body.front() == '[' ||
                                                         (type.empty() && body.front() == '"')))) {
    return add_json_body(findings, body);
  }
  if (form_type || ((type.empty() || detail::icontains(type, "text/plain")) && looks_like_form(body))) {
    auto field = [&](std::string_view name, std::string_view value) { add_body_field(findings, name, value); };
    detail::for_each_pair(body, field);
  }
}

// Set-Cookie: name=value; attributes…
void add_set_cookie(Findings& findings, std::string_view header_value) {
  std::string_view pair = header_value.substr(0, header_value.find(';'));
  size_t eq = pair.find('=');
  if (eq == std::string_view::npos) return;
  std::string_view name = trim_ows(pair.substr(0, eq));
  std::string_view value = pair.substr(eq + 1);
  if (name.empty()) return;
  const Carrier where = carrier(kCookieCarrier, name);  // cookie name as sent
  if (detail::is_session_cookie_name(name)) return findings.add_contextual(value, "session_cookie", where);
  findings.add_if_typed(value, where);
}

}  // namespace

std::vector<CarriedCredential> credentials_in_response(const HttpResponse& response) {
  Findings findings;
  for (const HttpHeader& header : response.headers) {
    if (header.name == "set-cookie") {
      add_set_cookie(findings, header.value);
    } else {
      findings.add_scanned(header.value, carrier(kHeaderCarrier, header.name));
    }
  }
  add_body(findings, response);
  return findings.take();
}

}  // namespace credtrace::protocols
