// Unit tests of the PEM parser: private-key types, certificates skipped, bodies, truncated blocks.
#include <gtest/gtest.h>

#include "credfiles/credential_file.h"
#include "credfiles/parsers.h"
#include "credfiles_test_util.h"

namespace credtrace::credfiles {
namespace {

TEST(PemParser, RsaPrivateKeyBodyWithoutWhitespace) {
  ParseResult r = parse_pem(testing::read_fixture("pem/server.key"));
  EXPECT_EQ(r.error, "");
  ASSERT_EQ(r.findings.size(), 1u);
  const Finding& f = r.findings[0];
  EXPECT_EQ(f.key, "private_key[0]");
  EXPECT_EQ(f.type, "rsa_private_key");
  EXPECT_EQ(f.line, 1);
  EXPECT_GT(f.value.size(), 100u);
  EXPECT_EQ(f.value.view().find_first_of(" \n\r-"), std::string_view::npos);
}

TEST(PemParser, CertificatesAreNotCredentials) {
  EXPECT_TRUE(parse_pem(testing::read_fixture("pem/cert.pem")).findings.empty());
  ParseResult bundle = parse_pem(testing::read_fixture("pem/bundle.pem"));
  ASSERT_EQ(bundle.findings.size(), 1u);
  EXPECT_EQ(bundle.findings[0].type, "private_key");
  EXPECT_EQ(bundle.findings[0].line, 5);
}

TEST(PemParser, OpensshAndEncryptedKeys) {
  ParseResult ssh = parse_pem(testing::read_fixture("ssh/id_ed25519"));
  ASSERT_EQ(ssh.findings.size(), 1u);
  EXPECT_EQ(ssh.findings[0].type, "ssh_private_key");
  ParseResult encrypted = parse_pem(testing::read_fixture("pem/encrypted.pem"));
  ASSERT_EQ(encrypted.findings.size(), 1u);
  EXPECT_EQ(encrypted.findings[0].type, "rsa_private_key");
  EXPECT_EQ(encrypted.findings[0].value.view().find(':'), std::string_view::npos);  // headers are not body
}

TEST(PemParser, TruncatedBlockIsReportedAndStillAKey) {
  ParseResult r = parse_pem(testing::read_fixture("pem/truncated.pem"));
  EXPECT_NE(r.error.find("line 1: PEM block without its END line"), std::string::npos) << r.error;
  EXPECT_EQ(r.findings.size(), 1u);
}

TEST(PemParser, SeveralKeysAreNumbered) {
  std::string key = testing::read_fixture("pem/server.key");
  ParseResult r = parse_pem(key + "\n" + key);
  ASSERT_EQ(r.findings.size(), 2u);
  EXPECT_EQ(r.findings[1].key, "private_key[1]");
}

TEST(PemParser, OneLineKeyFileIsAToken) {
  ParseResult r = parse_credential_text(Format::pem, "api.key", testing::read_fixture("pem/api.key"));
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].type, "openai");
  EXPECT_EQ(r.findings[0].key, "content");
  EXPECT_EQ(r.findings[0].value.view(), testing::fake("OPENAI"));
}

}  // namespace
}  // namespace credtrace::credfiles
