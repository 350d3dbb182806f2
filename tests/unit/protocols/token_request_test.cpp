// Tests of the OAuth token-endpoint parser: every grant type, Basic client authentication, JSON bodies,
// percent-encoding, cut bodies, answers (tokens issued, errors) and garbage.
#include "protocols/oauth/token_request.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fake_secrets.h"

namespace credtrace::protocols::oauth {
namespace {

namespace fake = protocols::testing;

HttpRequest request_with(std::string content_type, std::string body, std::vector<HttpHeader> headers = {}) {
  HttpRequest request;
  request.method = "POST";
  request.path = "/oauth/token";
  request.host = "auth.example.com";
  if (!content_type.empty()) headers.push_back({"content-type", std::move(content_type)});
  request.headers = std::move(headers);
  request.body_prefix = std::move(body);
  return request;
}

HttpRequest form(std::string body, std::vector<HttpHeader> headers = {}) {
  return request_with("application/x-www-form-urlencoded", std::move(body), std::move(headers));
}

HttpResponse answer(int status, std::string body, std::string content_type = "application/json") {
  HttpResponse response;
  response.status = status;
  response.request_method = "POST";
  response.headers = {{"content-type", std::move(content_type)}};
  response.body_prefix = std::move(body);
  return response;
}

TokenRequest parsed(const HttpRequest& request) {
  TokenRequestParse parse = parse_token_request(request);
  EXPECT_EQ(parse.verdict, TokenRequestParse::Verdict::kToken);
  return std::move(parse.request);
}

const ExchangedValue* role(const std::vector<ExchangedValue>& values, std::string_view name) {
  for (const ExchangedValue& value : values) {
    if (value.role == name) return &value;
  }
  return nullptr;
}

void expect_role(const std::vector<ExchangedValue>& values, std::string_view name, const std::string& raw,
                 std::string_view type, std::string_view token_type = "") {
  const ExchangedValue* value = role(values, name);
  ASSERT_NE(value, nullptr) << name;
  EXPECT_EQ(value->value, raw) << name;
  EXPECT_EQ(value->type, type) << name;
  EXPECT_EQ(value->token_type, token_type) << name;
}

TEST(TokenRequest, ClientCredentialsInTheBody) {
  const std::string secret = fake::generic_secret(40);
  TokenRequest request = parsed(form("grant_type=client_credentials&client_id=my-app&client_secret=" + secret +
                                     "&scope=read%20write&resource=https%3A%2F%2Fapi.example.com%2F"));
  EXPECT_EQ(request.grant_type, "client_credentials");
  EXPECT_EQ(request.client_id, "my-app");
  EXPECT_EQ(request.scope, "read write");
  EXPECT_EQ(request.resource, std::vector<std::string>{"https://api.example.com/"});
  EXPECT_FALSE(request.pkce);
  ASSERT_EQ(request.presented.size(), 1u);
  expect_role(request.presented, "client_secret", secret, "oauth_client_secret");
}

TEST(TokenRequest, ClientCredentialsWithBasicAuthIsFormDecoded) {
  const std::string secret = fake::generic_secret(30) + "+/";  // '+' and '/' are form-encoded in the header
  HttpRequest http = form("grant_type=client_credentials&scope=api",
                          {{"authorization", "Basic " + fake::basic("my%3Aapp", secret.substr(0, 30) + "%2B%2F")}});
  TokenRequest request = parsed(http);
  EXPECT_EQ(request.client_id, "my:app");
  ASSERT_EQ(request.presented.size(), 1u);
  expect_role(request.presented, "basic_auth", secret, "oauth_client_secret");
}

TEST(TokenRequest, BodyClientIdWinsOverBasicUser) {
  const std::string secret = fake::generic_secret();
  TokenRequest request = parsed(form("grant_type=client_credentials&client_id=body-id",
                                     {{"authorization", "basic " + fake::basic("basic-id", secret)}}));
  EXPECT_EQ(request.client_id, "body-id");
  expect_role(request.presented, "basic_auth", secret, "oauth_client_secret");
}

TEST(TokenRequest, AuthorizationCodeWithPkce) {
  const std::string code = fake::generic_secret(24);
  TokenRequest request = parsed(form("grant_type=authorization_code&code=" + code +
                                     "&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fcb&client_id=cli&code_verifier=" +
                                     fake::generic_secret(43)));
  EXPECT_EQ(request.grant_type, "authorization_code");
  EXPECT_TRUE(request.pkce);
  ASSERT_EQ(request.presented.size(), 1u);  // the verifier is a flag, not a reported credential
  expect_role(request.presented, "code", code, "oauth_authorization_code");
}

TEST(TokenRequest, RefreshTokenTypedValueKeepsItsType) {
  const std::string refresh = fake::github_refresh_token();
  TokenRequest request = parsed(form("grant_type=refresh_token&refresh_token=" + refresh));
  EXPECT_EQ(request.grant_type, "refresh_token");
  const ExchangedValue* value = role(request.presented, "refresh_token");
  ASSERT_NE(value, nullptr);
  EXPECT_EQ(value->value, refresh);
  EXPECT_NE(value->type, "oauth_refresh_token");  // a typed rule recognised it
  EXPECT_GT(value->prefix_len, 0u);
}

TEST(TokenRequest, TokenExchangeRfc8693) {
  const std::string subject = fake::jwt();
  const std::string actor = fake::generic_secret(36);
  TokenRequest request = parsed(form(
      "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token=" + subject +
      "&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Ajwt&actor_token=" + actor +
      "&actor_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token"
      "&requested_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token"
      "&audience=api-a&audience=api-b&resource=https%3A%2F%2Fapi.example.com&scope=read"));
  EXPECT_EQ(request.grant_type, "token_exchange");
  EXPECT_EQ(request.audience, (std::vector<std::string>{"api-a", "api-b"}));
  EXPECT_EQ(request.resource, std::vector<std::string>{"https://api.example.com"});
  EXPECT_EQ(request.requested_token_type, "urn:ietf:params:oauth:token-type:access_token");
  expect_role(request.presented, "subject_token", subject, "jwt", "urn:ietf:params:oauth:token-type:jwt");
  expect_role(request.presented, "actor_token", actor, "oauth_access_token",
              "urn:ietf:params:oauth:token-type:access_token");
}

TEST(TokenRequest, JwtBearerAndClientAssertion) {
  const std::string assertion = fake::jwt();
  const std::string client_assertion = fake::jwt();
  TokenRequest request = parsed(form(
      "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=" + assertion +
      "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=" +
      client_assertion));
  EXPECT_EQ(request.grant_type, "jwt_bearer");
  expect_role(request.presented, "assertion", assertion, "jwt");
  expect_role(request.presented, "client_assertion", client_assertion, "jwt",
              "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
}

TEST(TokenRequest, PasswordGrant) {
  const std::string password = "c0rrect-h0rse-" + fake::generic_secret(8);
  TokenRequest request = parsed(form("grant_type=password&username=alice&password=" + password + "&client_id=x"));
  EXPECT_EQ(request.grant_type, "password");
  expect_role(request.presented, "password", password, "password");
}

TEST(TokenRequest, DeviceCodeGrant) {
  const std::string device_code = fake::generic_secret(40);
  TokenRequest request = parsed(
      form("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=" + device_code +
           "&client_id=cli"));
  EXPECT_EQ(request.grant_type, "device_code");
  expect_role(request.presented, "device_code", device_code, "oauth_device_code");
}

TEST(TokenRequest, UnknownGrantIsKeptAsSent) {
  TokenRequest request = parsed(form("grant_type=urn%3Aexample%3Acustom&client_id=a"));
  EXPECT_EQ(request.grant_type, "urn:example:custom");
}

TEST(TokenRequest, JsonBody) {
  const std::string subject = fake::jwt();
  TokenRequest request = parsed(request_with(
      "application/json", R"({"grant_type":"urn:ietf:params:oauth:grant-type:token-exchange","subject_token":")" +
                              subject + R"(","subject_token_type":"urn:ietf:params:oauth:token-type:jwt",)"
                              R"("audience":["a1","a2"],"resource":"https://r.example/","client_id":"c"})"));
  EXPECT_EQ(request.grant_type, "token_exchange");
  EXPECT_EQ(request.client_id, "c");
  EXPECT_EQ(request.audience, (std::vector<std::string>{"a1", "a2"}));
  EXPECT_EQ(request.resource, std::vector<std::string>{"https://r.example/"});
  expect_role(request.presented, "subject_token", subject, "jwt", "urn:ietf:params:oauth:token-type:jwt");
}

TEST(TokenRequest, UntypedJsonAndUntypedForm) {
  EXPECT_EQ(parsed(request_with("", R"({"grant_type":"client_credentials"})")).grant_type, "client_credentials");
  EXPECT_EQ(parsed(request_with("", "grant_type=refresh_token&refresh_token=abc")).grant_type, "refresh_token");
}

TEST(TokenRequest, CutFormLeavesTheCutFieldOut) {
  const std::string secret = fake::generic_secret(40);
  HttpRequest request = form("grant_type=client_credentials&client_id=a&client_secret=" + secret.substr(0, 20));
  request.body_truncated = true;
  TokenRequest parsed_request = parsed(request);
  EXPECT_TRUE(parsed_request.body_truncated);
  EXPECT_EQ(parsed_request.client_id, "a");
  EXPECT_TRUE(parsed_request.presented.empty());  // a partial value would give a wrong fingerprint
}

TEST(TokenRequest, CutJsonIsUnparsedNotGuessed) {
  HttpRequest request = request_with("application/json", R"({"grant_type":"client_credentials","client_secret":"abc)");
  request.body_truncated = true;
  EXPECT_EQ(parse_token_request(request).verdict, TokenRequestParse::Verdict::kUnparsed);
}

TEST(TokenRequest, CutFormBeforeItsGrantTypeIsUnparsed) {
  HttpRequest request = form("client_id=a&grant_type=client_cre");
  request.body_truncated = true;
  EXPECT_EQ(parse_token_request(request).verdict, TokenRequestParse::Verdict::kUnparsed);
}

TEST(TokenRequest, NotATokenRequest) {
  EXPECT_EQ(parse_token_request(form("a=b&c=d")).verdict, TokenRequestParse::Verdict::kNotToken);
  EXPECT_EQ(parse_token_request(request_with("application/json", R"({"query":"x"})")).verdict,
            TokenRequestParse::Verdict::kNotToken);
  EXPECT_EQ(parse_token_request(request_with("text/html", "<p>grant_type=password</p>")).verdict,
            TokenRequestParse::Verdict::kNotToken);
  EXPECT_EQ(parse_token_request(form("grant_type=")).verdict, TokenRequestParse::Verdict::kNotToken);
  EXPECT_EQ(parse_token_request(request_with("application/json", R"(["grant_type"])")).verdict,
            TokenRequestParse::Verdict::kUnparsed);
}

TEST(TokenRequest, GarbageNeverThrows) {
  std::string garbage;
  for (int i = 0; i < 4096; ++i) garbage.push_back(static_cast<char>((i * 131 + 7) % 256));
  for (std::string body : {garbage, "grant_type" + garbage, "{\"grant_type\":" + garbage, std::string("grant_type=%"),
                           std::string("grant_type=%zz&&&=&client_secret=%")}) {
    for (std::string type : {"application/json", "application/x-www-form-urlencoded", ""}) {
      TokenRequestParse parse = parse_token_request(request_with(type, body));
      cleanse(parse.request);
    }
  }
  TokenRequest request = parsed(form("grant_type=%zz&client_secret=%"));
  EXPECT_EQ(request.grant_type, "%zz");
  expect_role(request.presented, "client_secret", "%", "oauth_client_secret");
}

TEST(TokenRequest, PublicValuesAreRedactedAndCut) {
  const std::string pat = fake::github_pat();
  TokenRequest request = parsed(form("grant_type=client_credentials&client_id=" + pat + "&scope=" + std::string(1000, 's')));
  EXPECT_EQ(request.client_id.find(pat), std::string::npos);
  EXPECT_LE(request.scope.size(), kMaxPublicValue + 3);
}

TEST(TokenRequest, CleanseWipesPresentedValues) {
  TokenRequest request = parsed(form("grant_type=client_credentials&client_secret=" + fake::generic_secret()));
  cleanse(request);
  EXPECT_TRUE(request.presented.at(0).value.empty());
}

TEST(TokenResponse, TokensIssued) {
  const std::string access = fake::jwt();
  const std::string refresh = fake::generic_secret(48);
  const std::string id = fake::jwt();
  TokenResponse response = parse_token_response(answer(
      200, R"({"access_token":")" + access + R"(","token_type":"Bearer","expires_in":3600,"refresh_token":")" +
               refresh + R"(","id_token":")" + id + R"(","scope":"read"})"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.error, "");
  EXPECT_FALSE(response.unparsed);
  ASSERT_EQ(response.issued.size(), 3u);
  expect_role(response.issued, "access_token", access, "jwt", "Bearer");
  EXPECT_EQ(role(response.issued, "access_token")->expires_in, 3600);
  expect_role(response.issued, "refresh_token", refresh, "oauth_refresh_token");
  EXPECT_FALSE(role(response.issued, "refresh_token")->expires_in.has_value());
  expect_role(response.issued, "id_token", id, "jwt");
}

TEST(TokenResponse, TokenExchangeAnswerPrefersIssuedTokenType) {
  const std::string access = fake::generic_secret(40);
  TokenResponse response = parse_token_response(answer(
      200, R"({"access_token":")" + access + R"(","issued_token_type":"urn:ietf:params:oauth:token-type:access_token",)"
               R"("token_type":"N_A","expires_in":"60"})"));
  expect_role(response.issued, "access_token", access, "oauth_access_token",
              "urn:ietf:params:oauth:token-type:access_token");
  EXPECT_EQ(role(response.issued, "access_token")->expires_in, 60);
  TokenResponse floating = parse_token_response(answer(200, R"({"access_token":"abcdefghijklmnopqrstu","expires_in":3599.0})"));
  EXPECT_EQ(floating.issued.at(0).expires_in, 3599);
  TokenResponse huge = parse_token_response(answer(200, R"({"access_token":"abcdefghijklmnopqrstu","expires_in":1e300})"));
  EXPECT_FALSE(huge.issued.at(0).expires_in.has_value());
}

TEST(TokenResponse, FormAnswer) {
  const std::string access = "gho_" + fake::random_from(fake::kAlnum, 36);
  TokenResponse response = parse_token_response(
      answer(200, "access_token=" + access + "&scope=repo&token_type=bearer", "application/x-www-form-urlencoded"));
  ASSERT_EQ(response.issued.size(), 1u);
  EXPECT_EQ(response.issued[0].value, access);
  EXPECT_EQ(response.issued[0].token_type, "bearer");
}

TEST(TokenResponse, ErrorAnswer) {
  TokenResponse response =
      parse_token_response(answer(400, R"({"error":"invalid_grant","error_description":"expired"})"));
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(response.error, "invalid_grant");
  EXPECT_TRUE(response.issued.empty());
  EXPECT_EQ(parse_token_response(answer(400, R"({"error":"bad \"quote\" <b>"})")).error, "<invalid>");
  EXPECT_EQ(parse_token_response(answer(400, R"({"error":")" + fake::github_pat() + R"(x!"})")).error, "<invalid>");
}

TEST(TokenResponse, UnreadableBodies) {
  HttpResponse encoded = answer(200, "\x1f\x8b\x08garbage");
  encoded.body_encoded = true;
  EXPECT_TRUE(parse_token_response(encoded).unparsed);
  HttpResponse cut = answer(200, R"({"access_token":"abc)");
  cut.body_truncated = true;
  TokenResponse response = parse_token_response(cut);
  EXPECT_TRUE(response.unparsed);
  EXPECT_TRUE(response.issued.empty());
  EXPECT_TRUE(parse_token_response(answer(502, "<html>bad gateway</html>", "text/html")).unparsed);
  EXPECT_FALSE(parse_token_response(answer(204, "")).unparsed);
}

TEST(TokenResponse, CleanseWipesIssuedValues) {
  TokenResponse response = parse_token_response(answer(200, R"({"access_token":"abcdefghijklmnop0123"})"));
  cleanse(response);
  EXPECT_TRUE(response.issued.at(0).value.empty());
}

TEST(GrantType, ShortNames) {
  EXPECT_EQ(short_grant_type("urn:ietf:params:oauth:grant-type:token-exchange"), "token_exchange");
  EXPECT_EQ(short_grant_type("urn:ietf:params:oauth:grant-type:jwt-bearer"), "jwt_bearer");
  EXPECT_EQ(short_grant_type("urn:ietf:params:oauth:grant-type:device_code"), "device_code");
  EXPECT_EQ(short_grant_type("client_credentials"), "client_credentials");
}

}  // namespace
}  // namespace credtrace::protocols::oauth
