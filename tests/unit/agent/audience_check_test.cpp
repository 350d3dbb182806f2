// Tests of the audience_mismatch rule: aud values that name hosts (URLs, bare hosts, literals) against the
// destination, opaque identifiers left uncompared, and one finding per (fingerprint, host).
#include "sensors/tls/audience_check.h"

#include <gtest/gtest.h>

namespace credtrace::sensors {
namespace {

TEST(AudienceHost, UrlsAndBareHosts) {
  EXPECT_EQ(audience_host("https://API.Example.com/"), "api.example.com");
  EXPECT_EQ(audience_host("https://api.example.com:8443/v1?x=1"), "api.example.com");
  EXPECT_EQ(audience_host("http://user@api.example.com"), "api.example.com");
  EXPECT_EQ(audience_host("wss://stream.example.com/ws"), "stream.example.com");
  EXPECT_EQ(audience_host("api.example.com"), "api.example.com");
  EXPECT_EQ(audience_host("api.example.com."), "api.example.com");
  EXPECT_EQ(audience_host("api.example.com:443"), "api.example.com");
  EXPECT_EQ(audience_host("localhost"), "localhost");
  EXPECT_EQ(audience_host("https://localhost:3000"), "localhost");
  EXPECT_EQ(audience_host("127.0.0.1:8080"), "127.0.0.1");
  EXPECT_EQ(audience_host("https://[::1]:8443/"), "::1");
  EXPECT_EQ(audience_host("https://10.0.0.5/"), "10.0.0.5");
}

TEST(AudienceHost, OpaqueIdentifiersNameNoHost) {
  EXPECT_FALSE(audience_host("mcp-api"));
  EXPECT_FALSE(audience_host("api://my-app-id"));
  EXPECT_FALSE(audience_host("spiffe://example.org/ns/default"));
  EXPECT_FALSE(audience_host("urn:example:api"));
  EXPECT_FALSE(audience_host("00000003-0000-0000-c000-000000000000"));
  EXPECT_FALSE(audience_host("example.com/api"));
  EXPECT_FALSE(audience_host("api.example.com:notaport"));
  EXPECT_FALSE(audience_host("https://"));
  EXPECT_FALSE(audience_host(""));
  EXPECT_FALSE(audience_host("1.2"));  // digits only: no letter, not an address
}

TEST(DestinationName, PortsAndCase) {
  EXPECT_EQ(destination_name("LocalHost:8443"), "localhost");
  EXPECT_EQ(destination_name("[::1]:443"), "::1");
  EXPECT_EQ(destination_name("api.example.com."), "api.example.com");
}

TEST(JudgeAudience, MatchMismatchAndUnknown) {
  EXPECT_EQ(judge_audience({"https://api.example.com/"}, "API.example.com:443", "", false), AudienceVerdict::kMatch);
  EXPECT_EQ(judge_audience({"https://other.example/", "api.example.com"}, "api.example.com", "", false),
            AudienceVerdict::kMatch);
  EXPECT_EQ(judge_audience({"https://api.example.com"}, "", "api.example.com", false), AudienceVerdict::kMatch);
  EXPECT_EQ(judge_audience({"https://other.example"}, "localhost:8443", "localhost", false),
            AudienceVerdict::kMismatch);
  EXPECT_EQ(judge_audience({"https://other.example"}, "127.0.0.1:8443", "", false), AudienceVerdict::kMismatch);
  EXPECT_EQ(judge_audience({"mcp-api"}, "localhost", "localhost", false), AudienceVerdict::kNotComparable);
  // An opaque value may be the destination's identifier: no finding even if another value names another host.
  EXPECT_EQ(judge_audience({"https://other.example", "my-api"}, "api.example.com", "", false),
            AudienceVerdict::kNotComparable);
  EXPECT_EQ(judge_audience({"https://other.example"}, "127.0.0.1", "", true), AudienceVerdict::kNoDestination);
  // A subdomain is another host.
  EXPECT_EQ(judge_audience({"https://example.com"}, "api.example.com", "", false), AudienceVerdict::kMismatch);
}

TEST(AudienceChecker, OneFindingPerFingerprintAndHost) {
  AudienceChecker checker;
  const std::vector<std::string> aud = {"https://other.example"};
  EXPECT_EQ(checker.check(aud, "fp1", "localhost:8443", "localhost", false), "localhost");
  EXPECT_FALSE(checker.check(aud, "fp1", "LOCALHOST:9000", "", false));  // same host, another port
  EXPECT_EQ(checker.check(aud, "fp1", "127.0.0.1:8443", "", false), "127.0.0.1");
  EXPECT_EQ(checker.check(aud, "fp2", "localhost", "", false), "localhost");
  EXPECT_FALSE(checker.check(aud, "fp3", "other.example", "", false));
  EXPECT_FALSE(checker.check({"opaque"}, "fp3", "x.example", "", false));
  EXPECT_FALSE(checker.check({}, "fp4", "x.example", "", false));  // no aud claim: not checked
  const AudienceStats& stats = checker.stats();
  EXPECT_EQ(stats.checked, 6u);
  EXPECT_EQ(stats.mismatches, 3u);
  EXPECT_EQ(stats.repeats, 1u);
  EXPECT_EQ(stats.matched, 1u);
  EXPECT_EQ(stats.not_comparable, 1u);
}

TEST(AudienceChecker, BoundedMemoryForgetsTheOldestAndCountsIt) {
  AudienceChecker checker;
  const std::vector<std::string> aud = {"https://other.example"};
  for (size_t i = 0; i <= AudienceChecker::kMaxRemembered; ++i) {
    ASSERT_TRUE(checker.check(aud, "fp" + std::to_string(i), "localhost", "", false));
  }
  EXPECT_EQ(checker.stats().forgotten, 1u);
  EXPECT_TRUE(checker.check(aud, "fp0", "localhost", "", false));  // forgotten: reported again
}

}  // namespace
}  // namespace credtrace::sensors
