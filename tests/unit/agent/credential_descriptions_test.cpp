// Tests of the recent credential descriptions (events/credential_facts.h): the same description as a fresh one, built
// once per value, rebuilt when the type differs, and emptied (counted) when full; and of the compact description kept
// per server (KeptCredential): the same description comes back out.
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <tuple>
#include <vector>

#include "../protocols/fake_secrets.h"
#include "common/digest.h"
#include "events/credential_facts.h"

namespace credtrace::events {
namespace {

namespace fake = protocols::testing;

secrets::Fingerprinter test_fingerprinter() {
  return *secrets::Fingerprinter::from_key("unit-test-fleet-key-0123456789abcdef", nullptr);
}

bool same(const v1::Credential& a, const v1::Credential& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

TEST(CredentialDescriptions, AreTheDescriptionsDescribeCredentialGives) {
  const secrets::Fingerprinter fingerprinter = test_fingerprinter();
  CredentialDescriptions descriptions(fingerprinter);
  const std::string pat = fake::github_pat();
  const std::string jwt = fake::jwt();
  EXPECT_TRUE(same(descriptions.describe(pat, "github_pat", 4), describe_credential(fingerprinter, pat, "github_pat", 4)));
  EXPECT_TRUE(same(descriptions.describe(jwt, "jwt", 0), describe_credential(fingerprinter, jwt, "jwt", 0)));
  EXPECT_TRUE(descriptions.describe(jwt, "jwt", 0).has_jwt());
  // used again: the same description, from the same entry
  const v1::Credential* first = &descriptions.describe(pat, "github_pat", 4);
  EXPECT_EQ(&descriptions.describe(pat, "github_pat", 4), first);
  EXPECT_TRUE(same(*first, describe_credential(fingerprinter, pat, "github_pat", 4)));
  EXPECT_EQ(descriptions.size(), 2u);
}

TEST(CredentialDescriptions, AValueCarriedAsAnotherTypeIsDescribedAsThatType) {
  const secrets::Fingerprinter fingerprinter = test_fingerprinter();
  CredentialDescriptions descriptions(fingerprinter);
  const std::string value = fake::generic_secret(40);
  EXPECT_EQ(descriptions.describe(value, "generic_token", 0).type(), "generic_token");
  const v1::Credential& as_key = descriptions.describe(value, "generic_api_key", 0);
  EXPECT_TRUE(same(as_key, describe_credential(fingerprinter, value, "generic_api_key", 0)));
  const v1::Credential& with_prefix = descriptions.describe(value, "generic_api_key", 3);
  EXPECT_TRUE(same(with_prefix, describe_credential(fingerprinter, value, "generic_api_key", 3)));
  EXPECT_EQ(descriptions.size(), 1u);
}

TEST(CredentialDescriptions, AreBoundedAndCountWhenEmptied) {
  const secrets::Fingerprinter fingerprinter = test_fingerprinter();
  CredentialDescriptions descriptions(fingerprinter);
  for (size_t i = 0; i < CredentialDescriptions::kMaxEntries; ++i) descriptions.describe(fake::github_pat(), "github_pat", 4);
  EXPECT_EQ(descriptions.size(), CredentialDescriptions::kMaxEntries);
  EXPECT_EQ(descriptions.emptied(), 0u);
  const std::string next = fake::github_pat();
  EXPECT_TRUE(same(descriptions.describe(next, "github_pat", 4), describe_credential(fingerprinter, next, "github_pat", 4)));
  EXPECT_EQ(descriptions.size(), 1u);
  EXPECT_EQ(descriptions.emptied(), 1u);
}

TEST(KeptCredential, GivesBackTheDescriptionItKept) {
  const secrets::Fingerprinter fingerprinter = test_fingerprinter();
  for (const auto& [value, type, prefix] : std::vector<std::tuple<std::string, std::string, size_t>>{
           {fake::github_pat(), "github_pat", 4}, {fake::jwt(), "jwt", 0}, {fake::anthropic_key(), "anthropic", 13}}) {
    const v1::Credential described = describe_credential(fingerprinter, value, type, prefix);
    const KeptCredential kept(described);
    EXPECT_TRUE(kept.has_fingerprint());
    EXPECT_TRUE(same(kept.to_proto(), described)) << type;
    const KeptCredential copy = kept;  // as a table copies it
    EXPECT_TRUE(same(copy.to_proto(), described)) << type;
  }
}

TEST(KeptCredential, KeepsAFingerprintThatIsNotHexAsItIs) {
  v1::Credential odd;
  odd.set_type("generic_token");
  odd.set_fingerprint("fp-not-hex");
  odd.set_preview("…abcd");
  EXPECT_TRUE(same(KeptCredential(odd).to_proto(), odd));
  odd.set_fingerprint(std::string(64, 'A'));  // upper case: not the form fingerprints take, kept as text
  EXPECT_TRUE(same(KeptCredential(odd).to_proto(), odd));
  EXPECT_FALSE(KeptCredential().has_fingerprint());
  EXPECT_FALSE(KeptCredential(v1::Credential()).has_fingerprint());
}

TEST(Fingerprinter, FingerprintBytesOnlyOfLowercaseHex) {
  const secrets::Fingerprinter fingerprinter = test_fingerprinter();
  const std::string hex = fingerprinter.fingerprint(fake::github_pat());
  const auto bytes = secrets::fingerprint_bytes(hex);
  ASSERT_TRUE(bytes.has_value());
  EXPECT_EQ(common::hex_encode(bytes->data(), bytes->size()), hex);
  EXPECT_FALSE(secrets::fingerprint_bytes(hex.substr(1)).has_value());
  EXPECT_FALSE(secrets::fingerprint_bytes(hex.substr(0, 63) + "g").has_value());
  EXPECT_FALSE(secrets::fingerprint_bytes("").has_value());
}

TEST(KeptFingerprint, GivesBackItsTextAndComparesByValue) {
  const secrets::Fingerprinter fingerprinter = test_fingerprinter();
  const std::string hex = fingerprinter.fingerprint(fake::github_pat());
  const std::string other_hex = fingerprinter.fingerprint(fake::openai_key());
  for (const std::string& text : {hex, std::string("fp-not-hex"), std::string(64, 'A'), std::string()})
    EXPECT_EQ(secrets::KeptFingerprint(text).text(), text);
  EXPECT_EQ(secrets::KeptFingerprint(hex), secrets::KeptFingerprint(hex));
  EXPECT_NE(secrets::KeptFingerprint(hex), secrets::KeptFingerprint(other_hex));
  EXPECT_NE(secrets::KeptFingerprint(std::string(64, 'A')), secrets::KeptFingerprint(std::string(64, 'a')));
  EXPECT_EQ(secrets::KeptFingerprint(hex) < secrets::KeptFingerprint(other_hex), hex < other_hex);  // bytes order as hex
  EXPECT_TRUE(secrets::KeptFingerprint().empty());
  EXPECT_TRUE(secrets::KeptFingerprint("").empty());
  EXPECT_FALSE(secrets::KeptFingerprint(hex).empty());
  EXPECT_LE(sizeof(secrets::KeptFingerprint), 40u);  // kept per secret per watched server: no larger than that
}

TEST(Fingerprinter, FingerprintIntoReusesItsStringAndMatches) {
  const secrets::Fingerprinter fingerprinter = test_fingerprinter();
  std::string out = "left over from an earlier value, longer than a fingerprint is: " + std::string(40, 'x');
  const std::string pat = fake::github_pat();
  fingerprinter.fingerprint_into(pat, out);
  EXPECT_EQ(out, fingerprinter.fingerprint(pat));
  EXPECT_EQ(out.size(), 64u);
}

}  // namespace
}  // namespace credtrace::events
