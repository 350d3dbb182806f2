// Credentials issued by a server in an HTTP response: token/API-key fields of JSON and form bodies, Set-Cookie.
#include "protocols/response_credentials.h"

#include <algorithm>
#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/credential_rules.h"
#include "protocols/jsonrpc/json_scanner.h"
#include "protocols/text.h"

namespace credtrace::protocols {
namespace {

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

// Strings of objects and arrays up to kMaxResponseJsonDepth levels below the top, scanned in place (no document is
// built; a name or value with escapes is decoded into a buffer that is wiped). A member's string is a named field;
// a string in an array (named by the member holding the array) or at the top counts only when typed. At most
// kMaxJsonValues values are visited; a body cut short yields the strings before the cut.
class ResponseJsonStrings final : public jsonrpc::JsonHandler {
 public:
  explicit ResponseJsonStrings(Findings& findings) : findings_(findings) {}
  static constexpr int kScanDepth = 64;  // scan_json's bound: no deeper containers are opened
  ~ResponseJsonStrings() override {
    detail::wipe(decoded_value_);
    for (size_t i = 0; i < depth_; ++i) detail::wipe(frames_[i].decoded_key);
  }

  void begin_container(jsonrpc::JsonType type, size_t /*offset*/) override {
    // Descended into when it was visited itself and is no deeper than the bound (visit_json's old rule).
    const bool descend = visit() && depth_ <= kMaxResponseJsonDepth;
    std::string_view key = member_key_;
    if (depth_ > 0 && innermost().type == jsonrpc::JsonType::kArray) key = innermost().key;
    member_key_ = {};
    if (depth_ == frames_.size()) {  // deeper than scan_json's bound (never): nothing inside is visited
      ++too_deep_;
      return;
    }
    Frame& frame = frames_[depth_++];
    frame.type = type;
    frame.descend = descend;
    frame.key = key;
    if (!key.empty() && key.data() == decoded_member_key_.data()) {  // decoded: the frame keeps its own copy
      frame.decoded_key = decoded_member_key_;
      frame.key = frame.decoded_key;
    }
  }
  void end_container(jsonrpc::JsonType /*type*/, size_t /*end*/) override {
    member_key_ = {};
    if (too_deep_ > 0) {
      --too_deep_;
      return;
    }
    detail::wipe(innermost().decoded_key);
    --depth_;
  }
  void key(std::string_view raw, bool escaped) override {
    if (!escaped) {
      member_key_ = raw;
      return;
    }
    member_key_ = detail::decode_json_string(raw, decoded_member_key_);
  }
  void scalar(jsonrpc::JsonType type, std::string_view raw, bool escaped, size_t /*offset*/) override {
    const std::string_view key = member_key_;
    member_key_ = {};
    if (!visit() || type != jsonrpc::JsonType::kString) return;
    const std::string_view text = escaped ? detail::decode_json_string(raw, decoded_value_) : raw;
    if (depth_ == 0) return findings_.add_if_typed(text, Carrier::bare(kBodyCarrier));
    const Frame& parent = innermost();
    if (parent.type == jsonrpc::JsonType::kObject) return add_body_field(findings_, key, text);
    findings_.add_if_typed(text, parent.key.empty() ? Carrier::bare(kBodyCarrier)
                                                    : carrier(kBodyCarrier, detail::to_lower(parent.key)));
  }

 private:
  struct Frame {
    jsonrpc::JsonType type = jsonrpc::JsonType::kObject;
    std::string_view key;  // the member holding this container (an array's elements are named by it)
    std::string decoded_key;
    bool descend = false;
  };

  // Whether the value starting now is visited (its container is descended into; the budget lasts).
  bool visit() {
    if (too_deep_ > 0 || (depth_ > 0 && !innermost().descend)) return false;
    if (budget_ == 0) return false;
    --budget_;
    return true;
  }

  Findings& findings_;
  Frame& innermost() { return frames_[depth_ - 1]; }

  std::array<Frame, kScanDepth + 2> frames_;  // the open containers, innermost at depth_ - 1: no allocation
  size_t depth_ = 0;
  size_t too_deep_ = 0;
  std::string_view member_key_;
  std::string decoded_member_key_;
  std::string decoded_value_;
  size_t budget_ = kMaxJsonValues;
};

void add_json_body(Findings& findings, std::string_view body) {
  ResponseJsonStrings strings(findings);
  jsonrpc::scan_json(body, strings, ResponseJsonStrings::kScanDepth);
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
    } else if (!detail::is_structured_header(header.name)) {
      findings.add_scanned(header.value, carrier(kHeaderCarrier, header.name));
    }
  }
  add_body(findings, response);
  return findings.take();
}

}  // namespace credtrace::protocols
