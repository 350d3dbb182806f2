// Tests of request credential extraction: every context rule, typed detection, generic rule and negatives.
#include "protocols/credentials.h"
#include "protocols/credential_rules.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fake_secrets.h"

namespace credtrace::protocols {
namespace {

namespace fake = testing;

HttpRequest request_with(std::vector<HttpHeader> headers, std::string body = "") {
  HttpRequest request;
  request.method = body.empty() ? "GET" : "POST";
  request.path = "/";
  request.headers = std::move(headers);
  request.body_prefix = std::move(body);
  return request;
}

std::vector<CarriedCredential> from_header(std::string name, std::string value) {
  return credentials_in_request(request_with({{std::move(name), std::move(value)}}), "");
}

void expect_one(const std::vector<CarriedCredential>& found, const std::string& value, const std::string& type,
                const std::string& carrier, const std::string& scheme = "") {
  ASSERT_EQ(found.size(), 1u) << type << " via " << carrier;
  EXPECT_EQ(found[0].value, value);
  EXPECT_EQ(found[0].type, type);
  EXPECT_EQ(found[0].carrier, carrier);
  EXPECT_EQ(found[0].scheme, scheme);
}

TEST(Credentials, BearerTypedToken) {
  std::string pat = fake::github_pat();
  auto found = from_header("authorization", "Bearer " + pat);
  expect_one(found, pat, "github_pat", "header:authorization", "Bearer");
  EXPECT_EQ(found[0].prefix_len, 4u);
  std::string openai = fake::openai_key();
  expect_one(from_header("authorization", "bearer  " + openai), openai, "openai", "header:authorization", "Bearer");
}

TEST(Credentials, TokenAndBotSchemes) {
  std::string pat = fake::github_pat();
  expect_one(from_header("authorization", "token " + pat), pat, "github_pat", "header:authorization", "token");
  std::string bot = fake::generic_secret(24) + "." + fake::generic_secret(6) + "." + fake::generic_secret(27);
  expect_one(from_header("authorization", "Bot " + bot), bot, "generic_bearer", "header:authorization", "Bot");
}

TEST(Credentials, BearerJwt) {
  std::string token = fake::jwt();
  expect_one(from_header("authorization", "Bearer " + token), token, "bearer_jwt", "header:authorization", "Bearer");
}

TEST(Credentials, GenericBearer) {
  std::string opaque = fake::generic_secret(40);
  expect_one(from_header("authorization", "Bearer " + opaque), opaque, "generic_bearer", "header:authorization", "Bearer");
}

TEST(Credentials, BasicAuth) {
  std::string password = fake::generic_secret(20);
  auto found = from_header("authorization", "Basic " + fake::basic("alice", password));
  expect_one(found, password, "basic_auth", "header:authorization", "Basic");
  EXPECT_EQ(found[0].user, "alice");
  // A short password is still a credential: Basic is explicit.
  expect_one(from_header("authorization", "Basic " + fake::basic("bob", "hunter2")), "hunter2", "basic_auth",
             "header:authorization", "Basic");
  // git over HTTPS: the password is a typed token.
  std::string app = fake::github_app_token();
  found = from_header("authorization", "Basic " + fake::basic("x-access-token", app));
  expect_one(found, app, "github_app_token", "header:authorization", "Basic");
  EXPECT_EQ(found[0].user, "x-access-token");
  // The key as user name with an empty password (Stripe convention).
  std::string key = "sk_live_" + fake::generic_secret(24);
  found = from_header("authorization", "Basic " + fake::basic(key, ""));
  expect_one(found, key, "stripe", "header:authorization", "Basic");
  EXPECT_EQ(found[0].user, "");
}

TEST(Credentials, BasicAuthNegatives) {
  EXPECT_TRUE(from_header("authorization", "Basic !!!notbase64").empty());
  EXPECT_TRUE(from_header("authorization", "Basic " + fake::base64("nocolon", false)).empty());
  EXPECT_TRUE(from_header("authorization", "Basic " + fake::basic("shortuser", "")).empty());
  EXPECT_TRUE(from_header("authorization", "Basic " + fake::basic("user", "${PASSWORD}")).empty());
}

TEST(Credentials, AwsSigV4) {
  std::string key = fake::aws_key_id();
  auto found = from_header("authorization", "AWS4-HMAC-SHA256 Credential=" + key +
                                                "/20240611/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, "
                                                "Signature=" + std::string(64, 'f'));
  expect_one(found, key, "aws_access_key_id", "header:authorization", "AWS4-HMAC-SHA256");
  EXPECT_EQ(found[0].prefix_len, 4u);
}

TEST(Credentials, ApiKeyHeaders) {
  for (std::string name : {"x-api-key", "api-key", "x-goog-api-key", "private-token", "x-auth-token", "x-api-token"}) {
    std::string generic = fake::generic_secret(32);
    expect_one(from_header(name, generic), generic, "generic_api_key", "header:" + name);
  }
  std::string anthropic = fake::anthropic_key();
  expect_one(from_header("x-api-key", anthropic), anthropic, "anthropic", "header:x-api-key");
}

TEST(Credentials, VendorTokenHeaders) {
  for (std::string name : {"x-vault-token", "x-nomad-token", "x-consul-token"}) {
    std::string uuid = "5f0c1a2e-7b3d-4e9a-8c61-2d4f9e0b7a13";  // HashiCorp tokens are UUID-shaped
    expect_one(from_header(name, uuid), uuid, "generic_token", "header:" + name);
  }
  for (std::string name : {"x-csrf-token", "x-xsrf-token", "x-token", "x-next-page-token", "x-continuation-token",
                           "x-idempotency-token", "x-request-token"})
    EXPECT_TRUE(from_header(name, fake::generic_secret(32)).empty()) << name;
  EXPECT_TRUE(from_header("x-vault-token", "changeme").empty());  // the generic rule still applies
  std::string session = fake::generic_secret(32);
  expect_one(from_header("x-amz-security-token", session), session, "aws_session_token", "header:x-amz-security-token");
}

TEST(Credentials, SessionCookies) {
  std::string session = fake::generic_secret(32);
  std::string jwt = fake::jwt();
  auto found = credentials_in_request(
      request_with({{"cookie", "theme=dark; SESSIONID=" + session + "; lang=en; my_auth=\"" + jwt + "\"; sid=short"}}), "");
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].value, session);
  EXPECT_EQ(found[0].type, "session_cookie");
  EXPECT_EQ(found[0].carrier, "cookie:SESSIONID");
  EXPECT_EQ(found[1].value, jwt);
  EXPECT_EQ(found[1].type, "jwt");
  EXPECT_EQ(found[1].carrier, "cookie:my_auth");
}

TEST(Credentials, TypedValueInAnyCookie) {
  std::string pat = fake::github_pat();
  expect_one(credentials_in_request(request_with({{"cookie", "prefs=" + pat}}), ""), pat, "github_pat", "cookie:prefs");
}

TEST(Credentials, QueryParameters) {
  std::string aws = fake::aws_key_id();
  std::string generic = fake::generic_secret(32);
  std::string pat = fake::github_pat();
  auto found = credentials_in_request(request_with({}), "page=2&api_key=" + aws + "&access_token=" + generic +
                                                           "&q=hello+world&other=" + pat + "&key=short");
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(found[0].value, aws);
  EXPECT_EQ(found[0].type, "aws_access_key_id");
  EXPECT_EQ(found[0].carrier, "query:api_key");
  EXPECT_EQ(found[1].value, generic);
  EXPECT_EQ(found[1].type, "generic_token");
  EXPECT_EQ(found[1].carrier, "query:access_token");
  EXPECT_EQ(found[2].value, pat);
  EXPECT_EQ(found[2].type, "github_pat");
  EXPECT_EQ(found[2].carrier, "query:other");
}

TEST(Credentials, QueryParameterNamesAndPercentEncoding) {
  for (std::string name : {"key", "apikey", "token", "auth", "API_KEY"}) {
    std::string value = fake::generic_secret(20) + "/+=";
    std::string encoded = value.substr(0, 20) + "%2F%2B%3D";
    auto found = credentials_in_request(request_with({}), name + "=" + encoded);
    ASSERT_EQ(found.size(), 1u) << name;
    EXPECT_EQ(found[0].value, value);
    EXPECT_EQ(found[0].carrier, "query:" + std::string(name == "API_KEY" ? "api_key" : name));
  }
}

TEST(Credentials, PresignedUrlCredential) {
  std::string aws = fake::aws_key_id();
  expect_one(credentials_in_request(request_with({}), "X-Amz-Credential=" + aws + "%2F20240611%2Fus-east-1%2Fs3%2Faws4_request"),
             aws, "aws_access_key_id", "query:x-amz-credential");
}

TEST(Credentials, JsonBodyFields) {
  std::string secret = fake::generic_secret(40);
  std::string refresh = fake::github_refresh_token();
  std::string password = fake::generic_secret(18);
  std::string body = R"({"grant_type":"refresh_token","client_id":"app","client_secret":")" + secret +
                     R"(","refresh_token":")" + refresh + R"(","password":")" + password +
                     R"(","nested":{"access_token":"ignored-nested-value-1234567890"}})";
  auto found = credentials_in_request(request_with({{"content-type", "application/json; charset=utf-8"}}, body), "");
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(found[0].carrier, "body:client_secret");
  EXPECT_EQ(found[0].type, "oauth_client_secret");
  EXPECT_EQ(found[0].value, secret);
  EXPECT_EQ(found[1].carrier, "body:refresh_token");
  EXPECT_EQ(found[1].type, "github_refresh_token");
  EXPECT_EQ(found[2].carrier, "body:password");
  EXPECT_EQ(found[2].type, "password");
}

// JSON request bodies are walked in place: an escaped member name is decoded, nested objects are not top-level fields,
// and a body cut short keeps the members completed before the cut.
TEST(Credentials, JsonBodyEscapesAndCuts) {
  const std::string secret = fake::generic_secret(40);
  auto found = credentials_in_request(
      request_with({{"content-type", "application/json"}}, R"({"client\u005fsecret":")" + secret + R"(","x":{"a":[1]}})"),
      "");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].carrier, "body:client_secret");
  EXPECT_EQ(found[0].value, secret);
  HttpRequest cut = request_with({{"content-type", "application/json"}},
                                 R"({"client_secret":")" + secret + R"(","scope":"read write","more":"unfinish)");
  cut.body_truncated = true;
  found = credentials_in_request(cut, "");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].value, secret);
}

TEST(Credentials, FormBodyFields) {
  std::string secret = fake::generic_secret(40);
  std::string key = fake::generic_secret(30);
  auto found = credentials_in_request(
      request_with({{"content-type", "application/x-www-form-urlencoded"}},
                   "grant_type=client_credentials&client_id=abc&client_secret=" + secret + "&api_key=" + key),
      "");
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].carrier, "body:client_secret");
  EXPECT_EQ(found[0].value, secret);
  EXPECT_EQ(found[1].carrier, "body:api_key");
  EXPECT_EQ(found[1].type, "generic_api_key");
}

TEST(Credentials, MalformedOrTruncatedJsonIsTolerated) {
  std::string secret = fake::generic_secret(40);
  HttpRequest request = request_with({{"content-type", "application/json"}}, R"({"client_secret":")" + secret);
  request.body_truncated = true;
  EXPECT_TRUE(credentials_in_request(request, "").empty());
  EXPECT_TRUE(credentials_in_request(request_with({{"content-type", "application/json"}}, "[1,2,"), "").empty());
  EXPECT_TRUE(credentials_in_request(request_with({{"content-type", "application/json"}}, "\"str\""), "").empty());
}

TEST(Credentials, TypedCredentialInOtherHeaders) {
  std::string pat = fake::github_pat();
  std::string openai = fake::openai_key();
  auto found = credentials_in_request(
      request_with({{"x-custom", "prefix " + pat + " suffix"}, {"x-forwarded-auth", openai}, {"user-agent", "curl/8"}}), "");
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].value, pat);
  EXPECT_EQ(found[0].carrier, "header:x-custom");
  EXPECT_EQ(found[1].type, "openai");
  EXPECT_EQ(found[1].carrier, "header:x-forwarded-auth");
}

// Fields whose grammar has no room for a credential are not scanned: a multipart boundary is random text, and a token
// shape there would be a false finding. Any other field still is (User-Agent, vendor headers), in any case of name.
TEST(Credentials, StructuredHeadersAreNotScanned) {
  const std::string pat = fake::github_pat();
  auto found = credentials_in_request(request_with({{"content-type", "multipart/form-data; boundary=" + pat},
                                                    {"date", pat},
                                                    {"accept-encoding", pat},
                                                    {"cache-control", "no-cache, " + pat},
                                                    {"user-agent", "sdk/1.0 " + pat}}),
                                      "");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].carrier, "header:user-agent");
  EXPECT_EQ(found[0].value, pat);
  for (std::string_view name : {"content-type", "content-length", "date", "transfer-encoding", "vary"})
    EXPECT_TRUE(detail::is_structured_header(name)) << name;
  // Host is scanned: a key can ride in it as userinfo.
  for (std::string_view name :
       {"host", "user-agent", "x-custom", "server", "x-content-type", "content-typ", "authorization"})
    EXPECT_FALSE(detail::is_structured_header(name)) << name;
  const auto in_host = credentials_in_request(request_with({{"host", pat + "@api.example.com"}}), "");
  ASSERT_EQ(in_host.size(), 1u);
  EXPECT_EQ(in_host[0].carrier, "header:host");
}

TEST(Credentials, NegativesPlaceholdersLowEntropyShort) {
  for (std::string value : {"${OPENAI_API_KEY}", "your-api-key", "<token>", "xxxxxxxxxxxxxxxxxxxx", "changeme",
                            "aaaaaaaaaaaaaaaaaaaa", "abababababababababab", "abc123", "{{ token }}", "ghp_xxxxxxxxxxxx"}) {
    EXPECT_TRUE(from_header("authorization", "Bearer " + value).empty()) << value;
    EXPECT_TRUE(from_header("x-api-key", value).empty()) << value;
    EXPECT_TRUE(credentials_in_request(request_with({{"cookie", "session=" + value}}), "").empty()) << value;
    EXPECT_TRUE(credentials_in_request(request_with({}), "api_key=" + value).empty()) << value;
  }
  EXPECT_TRUE(from_header("authorization", "Bearer").empty());
  EXPECT_TRUE(from_header("authorization", "Digest username=\"a\", response=\"abc\"").empty());
  EXPECT_TRUE(from_header("user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36").empty());
}

TEST(Credentials, NoDuplicateValueAndCarrier) {
  std::string key = fake::generic_secret(32);
  auto found = credentials_in_request(request_with({{"x-api-key", key}, {"x-api-key", key}}), "api_key=" + key);
  ASSERT_EQ(found.size(), 2u);  // the header twice counts once; the query is another carrier
  EXPECT_EQ(found[0].carrier, "header:x-api-key");
  EXPECT_EQ(found[1].carrier, "query:api_key");
}

TEST(Credentials, CleanseWipesValues) {
  std::string pat = fake::github_pat();
  auto found = from_header("authorization", "Bearer " + pat);
  ASSERT_EQ(found.size(), 1u);
  cleanse(found);
  EXPECT_TRUE(found[0].value.empty());
  HttpRequest request = request_with({{"authorization", "Bearer " + pat}}, "body " + pat);
  cleanse(request);
  EXPECT_TRUE(request.headers.empty());
  EXPECT_TRUE(request.body_prefix.empty());
}

TEST(Credentials, EndToEndFromTheWire) {
  std::string pat = fake::github_pat();
  std::string aws = fake::aws_key_id();
  std::string secret = fake::generic_secret(40);
  std::string body = "client_secret=" + secret;
  std::string wire = "POST /login/oauth?api_key=" + aws + "&page=1 HTTP/1.1\r\nHost: github.example\r\nAuthorization: token " +
                     pat + "\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n" + body;
  Http1RequestParser parser;
  std::vector<HttpRequest> requests;
  std::vector<std::string> raw_queries;
  for (char c : wire) parser.feed(std::string_view(&c, 1), requests, raw_queries);
  ASSERT_EQ(requests.size(), 1u);
  auto found = credentials_in_request(requests[0], raw_queries[0]);
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(found[0].type, "github_pat");
  EXPECT_EQ(found[1].type, "aws_access_key_id");
  EXPECT_EQ(found[1].carrier, "query:api_key");
  EXPECT_EQ(found[2].carrier, "body:client_secret");
  EXPECT_EQ(requests[0].path, "/login/oauth?api_key=&page=");
  for (const std::string& raw : {pat, aws, secret}) {
    EXPECT_EQ(requests[0].path.find(raw), std::string::npos);
    EXPECT_EQ(parser.last_error().find(raw), std::string::npos);
    for (const auto& credential : found) {
      EXPECT_EQ(credential.carrier.find(raw), std::string::npos);
      EXPECT_EQ(credential.type.find(raw), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace credtrace::protocols
