// Fuzz target for credtrace_protocols: the OAuth token-request and token-answer parser (any body, any content type,
// cut or not) keeps its invariants and never throws.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_common.h"
#include "protocols/oauth/token_request.h"

namespace {

using credtrace::fuzz::check;
using namespace credtrace::protocols;

constexpr std::array<std::string_view, 4> kContentTypes = {"application/x-www-form-urlencoded", "application/json",
                                                           "", "text/plain"};
constexpr std::array<std::string_view, 10> kPresentedRoles = {"client_secret", "basic_auth", "client_assertion",
                                                              "code", "refresh_token", "subject_token", "actor_token",
                                                              "assertion", "password", "device_code"};

bool one_of(std::string_view value, const auto& names) {
  for (std::string_view name : names)
    if (name == value) return true;
  return false;
}

void check_public(const std::string& value) {
  check(value.size() <= oauth::kMaxPublicValue + 3, "public value over the limit");
}

void check_value(const oauth::ExchangedValue& value) {
  check(!value.value.empty() && !value.type.empty(), "empty credential value or type");
  check(value.prefix_len <= value.value.size(), "prefix longer than the value");
  check_public(value.token_type);
}

void check_request(const HttpRequest& http) {
  oauth::TokenRequestParse parse = oauth::parse_token_request(http);
  if (parse.verdict != oauth::TokenRequestParse::Verdict::kToken) {
    check(parse.request.presented.empty(), "credentials without a token request");
    return;
  }
  const oauth::TokenRequest& request = parse.request;
  check(!request.grant_type.empty(), "token request without a grant type");
  check(request.resource.size() <= oauth::kMaxListValues && request.audience.size() <= oauth::kMaxListValues,
        "more list values than kept");
  for (const std::string* value : {&request.grant_type, &request.client_id, &request.scope, &request.requested_token_type})
    check_public(*value);
  for (const auto& value : request.presented) {
    check(one_of(value.role, kPresentedRoles), "unknown presented role");
    check_value(value);
  }
  oauth::cleanse(parse.request);
}

void check_response(const HttpResponse& http) {
  oauth::TokenResponse response = oauth::parse_token_response(http);
  check(response.status == http.status, "status not carried");
  check(response.error.empty() || response.error == "<invalid>" || response.error.size() <= 64, "error too long");
  for (const auto& value : response.issued) {
    check(value.role == "access_token" || value.role == "refresh_token" || value.role == "id_token", "unknown role");
    check(value.role == "access_token" || !value.expires_in, "expires_in on a token other than the access token");
    check_value(value);
  }
  oauth::cleanse(response);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0];  // bits 0-1: content type; bit 2: body cut; bit 3: a Basic authorization header
  std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);

  HttpRequest request;
  request.method = "POST";
  request.path = "/token";
  if (!kContentTypes[mode & 3].empty()) request.headers.push_back({"content-type", std::string(kContentTypes[mode & 3])});
  if (mode & 8) request.headers.push_back({"authorization", "Basic " + body.substr(0, body.size() / 4)});
  request.body_prefix = body;
  request.body_truncated = (mode & 4) != 0;
  check_request(request);

  HttpResponse response;
  response.status = 200 + (mode >> 4);
  response.headers = request.headers;
  response.body_prefix = body;
  response.body_truncated = request.body_truncated;
  response.body_encoded = (mode & 0x80) != 0;
  check_response(response);
  return 0;
}
