// Tests of the JWT facts put on exported credentials: claims outside a timestamp's range are left out, no overflow.
#include "events/jwt_claims.h"

#include <gtest/gtest.h>

#include "../protocols/fake_secrets.h"
#include "credtrace/v1/events.pb.h"

namespace credtrace::sensors {
namespace {

namespace fake = protocols::testing;

std::string jwt_with(const std::string& payload) {
  return fake::base64(R"({"alg":"HS256","typ":"JWT"})", true) + "." + fake::base64(payload, true) + ".c2lnbmF0dXJlLWJ5dGVz";
}

TEST(JwtClaims, ExpAndIatInRangeGiveTheirTtl) {
  v1::Credential credential;
  fill_jwt_claims(jwt_with(R"({"iss":"https://issuer.example","exp":1893456000,"iat":1893452400})"), &credential);
  EXPECT_EQ(credential.jwt().exp().seconds(), 1893456000);
  EXPECT_EQ(credential.jwt().iat().seconds(), 1893452400);
  EXPECT_EQ(credential.jwt().ttl_seconds(), 3600);
}

TEST(JwtClaims, ClaimsNoTimestampCanHoldAreLeftOutWithoutOverflow) {
  v1::Credential credential;
  fill_jwt_claims(jwt_with(R"({"iss":"x","exp":9223372036854775807,"iat":-9223372036854775807})"), &credential);
  EXPECT_FALSE(credential.jwt().has_exp());
  EXPECT_FALSE(credential.jwt().has_iat());
  EXPECT_EQ(credential.jwt().ttl_seconds(), 0);
  EXPECT_EQ(credential.jwt().iss(), "x");
  v1::Credential late;
  fill_jwt_claims(jwt_with(R"({"exp":253402300800,"iat":1700000000})"), &late);  // 10000-01-01
  EXPECT_FALSE(late.jwt().has_exp());
  EXPECT_EQ(late.jwt().iat().seconds(), 1700000000);
  EXPECT_EQ(late.jwt().ttl_seconds(), 0);
}

}  // namespace
}  // namespace credtrace::sensors
