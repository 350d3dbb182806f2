// Tests of response credential extraction: issued tokens in JSON and form bodies, Set-Cookie, and negatives.
#include "protocols/response_credentials.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <vector>

#include "fake_secrets.h"

namespace credtrace::protocols {
namespace {

namespace fake = testing;

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string github_oauth_token() { return "gho_" + fake::random_from(fake::kAlnum, 36); }

HttpResponse response_with(std::vector<HttpHeader> headers, std::string body = "") {
  HttpResponse response;
  response.status = 200;
  response.request_method = "POST";
  response.headers = std::move(headers);
  response.body_prefix = std::move(body);
  return response;
}

HttpResponse json(std::string body) { return response_with({{"content-type", "application/json"}}, std::move(body)); }

const CarriedCredential* find(const std::vector<CarriedCredential>& found, std::string_view carrier) {
  for (const CarriedCredential& credential : found) {
    if (credential.carrier == carrier) return &credential;
  }
  return nullptr;
}

void expect_found(const std::vector<CarriedCredential>& found, std::string_view carrier, const std::string& value,
                  std::string_view type) {
  const CarriedCredential* credential = find(found, carrier);
  ASSERT_NE(credential, nullptr) << carrier;
  EXPECT_EQ(credential->value, value) << carrier;
  EXPECT_EQ(credential->type, type) << carrier;
}

TEST(ResponseCredentials, OAuthTokenEndpointJson) {
  std::string access = fake::jwt();
  std::string refresh = fake::generic_secret(40);
  std::string id_token = fake::jwt();
  auto found = credentials_in_response(json(R"({"access_token":")" + access + R"(","token_type":"Bearer",)" +
                                            R"("expires_in":3600,"refresh_token":")" + refresh +
                                            R"(","id_token":")" + id_token + R"(","scope":"openid email"})"));
  ASSERT_EQ(found.size(), 3u);
  expect_found(found, "response:body:access_token", access, "jwt");
  expect_found(found, "response:body:refresh_token", refresh, "oauth_refresh_token");
  expect_found(found, "response:body:id_token", id_token, "jwt");
  EXPECT_EQ(found[0].carrier, "response:body:access_token");  // in document order
  EXPECT_EQ(found[0].scheme, "");
}

TEST(ResponseCredentials, GenericTypesPerField) {
  struct Case {
    std::string name, type;
  };
  for (const Case& c : std::vector<Case>{{"access_token", "oauth_access_token"},
                                         {"refresh_token", "oauth_refresh_token"},
                                         {"id_token", "generic_token"},
                                         {"token", "generic_token"},
                                         {"session_token", "generic_token"},
                                         {"api_key", "generic_api_key"},
                                         {"apikey", "generic_api_key"},
                                         {"key", "generic_api_key"},
                                         {"client_secret", "oauth_client_secret"},
                                         {"secret", "generic_api_key"},
                                         {"password", "password"},
                                         {"accessToken", "oauth_access_token"},
                                         {"Client-Secret", "oauth_client_secret"}}) {
    std::string value = fake::generic_secret(32);
    auto found = credentials_in_response(json(R"({")" + c.name + R"(":")" + value + R"("})"));
    ASSERT_EQ(found.size(), 1u) << c.name;
    EXPECT_EQ(found[0].value, value);
    EXPECT_EQ(found[0].type, c.type) << c.name;
    EXPECT_EQ(found[0].carrier, "response:body:" + lower(c.name));
    EXPECT_EQ(found[0].prefix_len, 0u);
  }
}

TEST(ResponseCredentials, TypedValueGetsItsType) {
  std::string ghs = fake::github_app_token();
  auto found = credentials_in_response(json(R"({"token":")" + ghs + R"(","expires_at":"2030-01-01T00:00:00Z"})"));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].type, "github_app_token");
  EXPECT_EQ(found[0].prefix_len, 4u);
  EXPECT_EQ(found[0].carrier, "response:body:token");
}

TEST(ResponseCredentials, NestedObjectsAndArrays) {
  std::string ghs = fake::github_app_token();
  std::string openai = fake::openai_key();
  std::string deep = fake::generic_secret(30);
  std::string too_deep = fake::generic_secret(30);
  std::string body = R"({"data":{"token":")" + ghs + R"("},"keys":[{"id":1,"key":")" + openai + R"("}],)" +
                     R"("a":{"b":{"c":{"secret":")" + deep + R"("}}},)" + R"("w":{"x":{"y":{"z":{"password":")" +
                     too_deep + R"("}}}}})";
  auto found = credentials_in_response(json(body));
  ASSERT_EQ(found.size(), 3u);
  expect_found(found, "response:body:token", ghs, "github_app_token");
  expect_found(found, "response:body:key", openai, "openai");
  expect_found(found, "response:body:secret", deep, "generic_api_key");
  EXPECT_EQ(find(found, "response:body:password"), nullptr);  // four levels down
}

TEST(ResponseCredentials, ContainersNestedPastTheScannersBound) {
  std::string ghs = fake::github_app_token();
  std::string deep = fake::github_pat();
  std::string nested = std::string(200, '[') + "\"" + deep + "\"" + std::string(200, ']');
  auto found = credentials_in_response(json(R"({"token":")" + ghs + R"(","deep":)" + nested + "}"));
  expect_found(found, "response:body:token", ghs, "github_app_token");
  for (const auto& f : found) EXPECT_NE(f.value, deep);  // far below the depth the body is read to
  nested = std::string(66, '[') + std::string(66, ']');  // as deep as the scanner goes, and no deeper: nothing
  EXPECT_TRUE(credentials_in_response(json(nested)).empty());
}

TEST(ResponseCredentials, OtherJsonStringsOnlyWhenTyped) {
  std::string pat = fake::github_pat();
  auto found = credentials_in_response(json(R"({"note":")" + pat + R"(","description":")" + fake::generic_secret(40) +
                                            R"(","tokens":[")" + pat + R"(","plain-text-value-1234567"]})"));
  ASSERT_EQ(found.size(), 2u);
  expect_found(found, "response:body:note", pat, "github_pat");
  expect_found(found, "response:body:tokens", pat, "github_pat");
}

TEST(ResponseCredentials, TopLevelArrayAndString) {
  std::string ghs = fake::github_app_token();
  auto found = credentials_in_response(json(R"([{"api_key":")" + ghs + R"("}])"));
  expect_found(found, "response:body:api_key", ghs, "github_app_token");
  found = credentials_in_response(json("\"" + ghs + "\""));
  expect_found(found, "response:body", ghs, "github_app_token");
}

TEST(ResponseCredentials, JsonWithoutContentType) {
  std::string refresh = fake::github_refresh_token();
  auto found = credentials_in_response(response_with({}, "\n  {\"refresh_token\": \"" + refresh + "\"}\n"));
  expect_found(found, "response:body:refresh_token", refresh, "github_refresh_token");
}

TEST(ResponseCredentials, FormBodyLegacyGitHubOAuth) {
  std::string token = github_oauth_token();
  auto found = credentials_in_response(
      response_with({{"content-type", "application/x-www-form-urlencoded; charset=utf-8"}},
                    "access_token=" + token + "&scope=repo%2Cgist&token_type=bearer"));
  ASSERT_EQ(found.size(), 1u);
  expect_found(found, "response:body:access_token", token, "github_oauth");

  std::string generic = fake::generic_secret(24);
  found = credentials_in_response(response_with({{"content-type", "text/plain"}},
                                                "token_type=bearer&access_token=" + generic + "&expires_in=7200"));
  ASSERT_EQ(found.size(), 1u);
  expect_found(found, "response:body:access_token", generic, "oauth_access_token");
}

TEST(ResponseCredentials, SetCookie) {
  std::string session = fake::generic_secret(32);
  std::string jwt = fake::jwt();
  std::string pat = fake::github_pat();
  auto found = credentials_in_response(response_with({
      {"set-cookie", "SESSIONID=" + session + "; Path=/; HttpOnly; Secure; SameSite=Lax"},
      {"set-cookie", "my_auth=\"" + jwt + "\"; Max-Age=3600"},
      {"set-cookie", "theme=" + fake::generic_secret(32) + "; Path=/"},
      {"set-cookie", "prefs=" + pat},
      {"set-cookie", "session=deleted; Expires=Thu, 01 Jan 1970 00:00:00 GMT"},
      {"set-cookie", "sid=; Max-Age=0"},
  }));
  ASSERT_EQ(found.size(), 3u);
  expect_found(found, "response:set-cookie:SESSIONID", session, "session_cookie");  // name as sent
  expect_found(found, "response:set-cookie:my_auth", jwt, "jwt");
  expect_found(found, "response:set-cookie:prefs", pat, "github_pat");
}

TEST(ResponseCredentials, TypedCredentialInOtherHeader) {
  std::string ghs = fake::github_app_token();
  auto found = credentials_in_response(response_with({{"x-new-token", ghs}, {"server", "nginx"}}));
  ASSERT_EQ(found.size(), 1u);
  expect_found(found, "response:header:x-new-token", ghs, "github_app_token");
}

TEST(ResponseCredentials, StructuredHeadersAreNotScanned) {
  std::string ghs = fake::github_app_token();
  auto found = credentials_in_response(response_with({{"content-type", "multipart/mixed; boundary=" + ghs},
                                                      {"etag", "\"" + ghs + "\""},
                                                      {"last-modified", ghs},
                                                      {"vary", ghs}}));
  ASSERT_EQ(found.size(), 1u);  // ETag is opaque, not structured: still scanned
  expect_found(found, "response:header:etag", ghs, "github_app_token");
}

TEST(ResponseCredentials, EncodedBodySkipped) {
  HttpResponse response = json(R"({"access_token":")" + fake::github_app_token() + R"("})");
  response.body_encoded = true;
  EXPECT_TRUE(credentials_in_response(response).empty());
}

TEST(ResponseCredentials, PlaceholdersAndWeakValuesSkipped) {
  auto found = credentials_in_response(json(
      R"({"access_token":"your-access-token-here","api_key":"xxxxxxxxxxxxxxxxxxxxxxxx","token":"${TOKEN}",)"
      R"("secret":"changeme","password":"aaaaaaaaaaaaaaaaaaaa","refresh_token":"short1",)"
      R"("client_secret":"<your-client-secret>","id_token":"ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"})"));
  EXPECT_TRUE(found.empty()) << found.size() << " " << (found.empty() ? "" : found[0].carrier);
}

TEST(ResponseCredentials, KeyFieldMustBeTokenShaped) {
  EXPECT_TRUE(credentials_in_response(json(R"({"key":"uploads/2024/holiday-photo.jpg"})")).empty());
  EXPECT_TRUE(credentials_in_response(json(R"({"key":"feature_flags.enable_new_dashboard"})")).empty());
  EXPECT_TRUE(credentials_in_response(json(R"({"key":"Human readable label text"})")).empty());
  std::string value = "k3Y" + fake::generic_secret(29);
  auto found = credentials_in_response(json(R"({"key":")" + value + R"("})"));
  expect_found(found, "response:body:key", value, "generic_api_key");
}

TEST(ResponseCredentials, NeverTheSameValueAndCarrierTwice) {
  std::string ghs = fake::github_app_token();
  auto found = credentials_in_response(json(R"({"token":")" + ghs + R"(","data":{"token":")" + ghs +
                                            R"("},"access_token":")" + ghs + R"("})"));
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].carrier, "response:body:token");
  EXPECT_EQ(found[1].carrier, "response:body:access_token");
}

TEST(ResponseCredentials, CredentialLookingFieldNameIsRedacted) {
  std::string pat = fake::github_pat();
  std::string ghs = fake::github_app_token();
  auto found = credentials_in_response(json(R"({")" + pat + R"(":")" + ghs + R"("})"));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].carrier, "response:body:<redacted>");
}

// The body is walked in place: escaped names and values are decoded (and found), an array inside an array is still
// named by the member holding the outer one, and a body cut short keeps the members completed before the cut.
TEST(ResponseCredentials, EscapesNestedArraysAndCutBodies) {
  const std::string refresh = fake::github_refresh_token();
  const std::string ghs = fake::github_app_token();
  const std::string escaped_refresh = "\\u0067" + refresh.substr(1);  // the leading 'g' written as \u0067
  auto found = credentials_in_response(json(R"({"refresh\u005ftoken":")" + escaped_refresh + R"(","all":[[")" + ghs +
                                            R"("]]})"));
  ASSERT_EQ(found.size(), 2u);
  expect_found(found, "response:body:refresh_token", refresh, "github_refresh_token");
  expect_found(found, "response:body:all", ghs, "github_app_token");
  HttpResponse cut = json(R"({"access_token":")" + ghs + R"(","scope":"repo","expires_in":36)");
  cut.body_truncated = true;
  found = credentials_in_response(cut);
  ASSERT_EQ(found.size(), 1u);
  expect_found(found, "response:body:access_token", ghs, "github_app_token");
}

TEST(ResponseCredentials, MalformedOrTruncatedJsonIsTolerated) {
  HttpResponse response = json(R"({"access_token":")" + fake::github_app_token());
  response.body_truncated = true;
  EXPECT_TRUE(credentials_in_response(response).empty());
  EXPECT_TRUE(credentials_in_response(json("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[")).empty());
  EXPECT_TRUE(credentials_in_response(json(std::string(5000, '[') + std::string(5000, ']'))).empty());
  EXPECT_TRUE(credentials_in_response(response_with({{"content-type", "text/html"}}, "<html>token=abc</html>")).empty());
}

}  // namespace
}  // namespace credtrace::protocols
