// Tests of the JWT decoder on real-shaped tokens built in the test (decode only, never verify).
#include "secrets/jwt.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace credtrace::secrets {
namespace {

std::string base64url_no_padding(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(buffer >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (6 - bits)) & 63]);
  return out;
}

// Appended piece by piece: GCC 12 at -O3 reports a false -Wrestrict on `a + "." + b` (GCC bug 105329).
std::string make_token(const nlohmann::json& header, const nlohmann::json& payload) {
  std::string token = base64url_no_padding(header.dump());
  token.append(".").append(base64url_no_padding(payload.dump()));
  token.append(".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c");
  return token;
}

TEST(DecodeJwt, ClaimsWithStringAudience) {
  std::string token = make_token({{"alg", "RS256"}, {"typ", "JWT"}, {"kid", "k1"}},
                                 {{"iss", "https://issuer.example.com"},
                                  {"sub", "repo:acme/app:ref:refs/heads/main"},
                                  {"aud", "https://api.example.com"},
                                  {"exp", 1900000000},
                                  {"iat", 1899996400},
                                  {"nbf", 1899996300}});
  std::optional<JwtClaims> claims = decode_jwt(token);
  ASSERT_TRUE(claims);
  EXPECT_EQ(claims->alg, "RS256");
  EXPECT_EQ(claims->iss, "https://issuer.example.com");
  EXPECT_EQ(claims->sub, "repo:acme/app:ref:refs/heads/main");
  ASSERT_EQ(claims->aud.size(), 1u);
  EXPECT_EQ(claims->aud[0], "https://api.example.com");
  EXPECT_EQ(claims->exp, 1900000000);
  EXPECT_EQ(claims->iat, 1899996400);
  EXPECT_EQ(claims->nbf, 1899996300);
  EXPECT_EQ(*claims->exp - *claims->iat, 3600);  // the TTL we report
}

TEST(DecodeJwt, ArrayAudienceAndMissingClaims) {
  std::string token = make_token({{"alg", "ES256"}}, {{"aud", {"a", "b", 7, "c"}}, {"exp", 1.9e9}});
  std::optional<JwtClaims> claims = decode_jwt(token);
  ASSERT_TRUE(claims);
  EXPECT_EQ(claims->aud, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(claims->exp, 1900000000);
  EXPECT_FALSE(claims->iat);
  EXPECT_FALSE(claims->nbf);
  EXPECT_TRUE(claims->iss.empty());
  EXPECT_TRUE(claims->sub.empty());
}

TEST(DecodeJwt, WrongTypesAndOutOfRangeNumbersAreIgnored) {
  std::string token =
      make_token({{"alg", 5}}, {{"exp", "1900000000"}, {"iat", 18446744073709551615ull}, {"nbf", -5}, {"iss", 3}});
  std::optional<JwtClaims> claims = decode_jwt(token);
  ASSERT_TRUE(claims);
  EXPECT_TRUE(claims->alg.empty());
  EXPECT_FALSE(claims->exp);
  EXPECT_FALSE(claims->iat);
  EXPECT_EQ(claims->nbf, -5);
  EXPECT_TRUE(claims->iss.empty());
}

TEST(DecodeJwt, PublishedExampleToken) {
  // The jwt.io example token (HS256, sub 1234567890, name John Doe, iat 1516239022).
  std::optional<JwtClaims> claims = decode_jwt(
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIy"
      "fQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c");
  ASSERT_TRUE(claims);
  EXPECT_EQ(claims->alg, "HS256");
  EXPECT_EQ(claims->sub, "1234567890");
  EXPECT_EQ(claims->iat, 1516239022);
}

TEST(DecodeJwt, RejectsMalformedTokens) {
  std::string good = make_token({{"alg", "none"}}, {{"sub", "x"}});
  EXPECT_TRUE(decode_jwt(good));
  EXPECT_FALSE(decode_jwt(""));
  EXPECT_FALSE(decode_jwt("abc"));
  EXPECT_FALSE(decode_jwt(good.substr(0, good.rfind('.'))));         // two parts
  EXPECT_FALSE(decode_jwt(good + ".extra"));                         // four parts
  EXPECT_FALSE(decode_jwt("!!!." + good.substr(good.find('.') + 1)));  // bad base64url
  EXPECT_FALSE(decode_jwt(base64url_no_padding("[1,2]") + "." + base64url_no_padding("{}") + ".sig"));  // not an object
  EXPECT_FALSE(decode_jwt(base64url_no_padding("{\"alg\":") + "." + base64url_no_padding("{}") + ".sig"));  // bad JSON
  EXPECT_FALSE(decode_jwt("." + base64url_no_padding("{}") + ".sig"));  // empty header
}

TEST(DecodeJwt, DeeplyNestedOrHugeTokensAreHandled) {
  std::string deep = std::string(20000, '[') + std::string(20000, ']');
  EXPECT_FALSE(decode_jwt(base64url_no_padding(R"({"alg":"x"})") + "." + base64url_no_padding(deep) + ".s"));
  std::string huge_payload = R"({"sub":")" + std::string(70000, 'a') + R"("})";
  EXPECT_FALSE(decode_jwt(base64url_no_padding(R"({"alg":"x"})") + "." + base64url_no_padding(huge_payload) + ".s"));
}

TEST(DecodeJwt, UnsignedTokenWithEmptySignatureDecodes) {
  std::string token = base64url_no_padding(R"({"alg":"none"})") + "." + base64url_no_padding(R"({"exp":5})") + ".";
  std::optional<JwtClaims> claims = decode_jwt(token);
  ASSERT_TRUE(claims);
  EXPECT_EQ(claims->exp, 5);
}

}  // namespace
}  // namespace credtrace::secrets
