// Tests of fingerprints (RFC 4231 vectors, determinism, key files) and of redacted previews.
#include "secrets/fingerprint.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "test_tokens.h"

namespace credtrace::secrets {
namespace {

using namespace credtrace::secrets::testing;
namespace fs = std::filesystem;

TEST(HmacSha256, Rfc4231TestCase2) {
  EXPECT_EQ(detail::hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Fingerprinter, Rfc4231TestCase6ThroughFromKey) {
  std::string key(131, '\xaa');
  std::optional<Fingerprinter> fingerprinter = Fingerprinter::from_key(key, nullptr);
  ASSERT_TRUE(fingerprinter);
  EXPECT_EQ(fingerprinter->fingerprint("Test Using Larger Than Block-Size Key - Hash Key First"),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(Fingerprinter, Rfc4231TestCase4ThroughFromKey) {
  std::string key;
  for (int i = 1; i <= 25; ++i) key.push_back(static_cast<char>(i));
  std::optional<Fingerprinter> fingerprinter = Fingerprinter::from_key(key, nullptr);
  ASSERT_TRUE(fingerprinter);
  EXPECT_EQ(fingerprinter->fingerprint(std::string(50, '\xcd')),
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
}

// The pads absorbed once at load must give OpenSSL's one-shot HMAC for every key length around the block size
// (shorter, equal, one over: hashed first) and any message, including a copy shared by several users.
TEST(Fingerprinter, PrecomputedPadsMatchOneShotHmacAcrossKeyAndMessageSizes) {
  for (size_t key_size : {16u, 32u, 63u, 64u, 65u, 131u}) {
    std::string key;
    for (size_t i = 0; i < key_size; ++i) key.push_back(static_cast<char>(i * 37 + 11));
    std::optional<Fingerprinter> fingerprinter = Fingerprinter::from_key(key, nullptr);
    ASSERT_TRUE(fingerprinter) << key_size;
    Fingerprinter copy = *fingerprinter;
    for (const std::string& message : {std::string(), std::string("a"), std::string(55, 'm'), std::string(64, 'n'),
                                       std::string(1000, '\x7f')}) {
      EXPECT_EQ(fingerprinter->fingerprint(message), detail::hmac_sha256_hex(key, message))
          << key_size << " " << message.size();
      EXPECT_EQ(copy.fingerprint(message), fingerprinter->fingerprint(message));
    }
  }
}

TEST(Fingerprinter, DeterministicLowercaseHexAndKeyDependent) {
  std::optional<Fingerprinter> a = Fingerprinter::from_key("0123456789abcdef-fleet-key", nullptr);
  std::optional<Fingerprinter> a_again = Fingerprinter::from_key("0123456789abcdef-fleet-key", nullptr);
  std::optional<Fingerprinter> b = Fingerprinter::from_key("0123456789abcdef-other-key", nullptr);
  ASSERT_TRUE(a && a_again && b);
  std::mt19937 rng(51);
  std::string secret = github_pat(rng);
  std::string fingerprint = a->fingerprint(secret);
  EXPECT_EQ(fingerprint.size(), 64u);
  EXPECT_EQ(fingerprint.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(fingerprint, a_again->fingerprint(secret));
  EXPECT_NE(fingerprint, b->fingerprint(secret));
  EXPECT_NE(fingerprint, a->fingerprint(github_pat(rng)));
  EXPECT_EQ(fingerprint.find(secret.substr(4, 8)), std::string::npos);
  EXPECT_EQ(a->fingerprint("").size(), 64u);
}

TEST(Fingerprinter, ShortKeyIsRefused) {
  std::string error;
  EXPECT_FALSE(Fingerprinter::from_key("fifteen-bytes!!", &error));
  EXPECT_NE(error.find("16"), std::string::npos);
  EXPECT_TRUE(Fingerprinter::from_key("sixteen-bytes!!!", &error));
}

class KeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device device;
    dir_ = fs::temp_directory_path() / ("credtrace-secrets-test-" + std::to_string(::getpid()) + "-" +
                                        std::to_string(device()));
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  static unsigned mode_of(const fs::path& path) {
    struct stat info {};
    EXPECT_EQ(::stat(path.c_str(), &info), 0);
    return info.st_mode & 07777;
  }
  static void write_file(const fs::path& path, const std::string& contents, unsigned mode) {
    fs::create_directories(path.parent_path());
    std::ofstream(path) << contents;
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
  }
  fs::path dir_;
};

TEST_F(KeyFileTest, CreatesPrivateKeyFileAndReloadsSameKey) {
  fs::path key_path = dir_ / "nested" / "etc" / "fleet.key";
  std::string error;
  std::optional<Fingerprinter> created = Fingerprinter::from_key_file(key_path.string(), &error);
  ASSERT_TRUE(created) << error;
  EXPECT_EQ(mode_of(key_path), 0600u);
  EXPECT_EQ(mode_of(key_path.parent_path()), 0700u);
  std::ifstream in(key_path);
  std::string hex;
  std::getline(in, hex);
  EXPECT_EQ(hex.size(), 64u);
  EXPECT_EQ(hex.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(std::distance(fs::directory_iterator(key_path.parent_path()), fs::directory_iterator()), 1)
      << "no temporary file left behind";

  std::optional<Fingerprinter> reloaded = Fingerprinter::from_key_file(key_path.string(), &error);
  ASSERT_TRUE(reloaded) << error;
  EXPECT_EQ(created->fingerprint("ghp_example"), reloaded->fingerprint("ghp_example"));
}

TEST_F(KeyFileTest, ReadsExistingHexKeyWithTrailingNewline) {
  fs::path key_path = dir_ / "k";
  write_file(key_path, "000102030405060708090a0b0c0d0e0f\n", 0600);
  std::string error;
  std::optional<Fingerprinter> from_file = Fingerprinter::from_key_file(key_path.string(), &error);
  ASSERT_TRUE(from_file) << error;
  std::string raw;
  for (int i = 0; i < 16; ++i) raw.push_back(static_cast<char>(i));
  EXPECT_EQ(from_file->fingerprint("s"), Fingerprinter::from_key(raw, nullptr)->fingerprint("s"));
}

TEST_F(KeyFileTest, RefusesGroupOrOtherReadableFile) {
  fs::path key_path = dir_ / "open.key";
  write_file(key_path, std::string(64, 'a') + "\n", 0644);
  std::string error;
  EXPECT_FALSE(Fingerprinter::from_key_file(key_path.string(), &error));
  EXPECT_NE(error.find(key_path.string()), std::string::npos) << error;
  EXPECT_NE(error.find("0644"), std::string::npos) << error;
  ASSERT_EQ(::chmod(key_path.c_str(), 0640), 0);
  EXPECT_FALSE(Fingerprinter::from_key_file(key_path.string(), &error));
}

TEST_F(KeyFileTest, RefusesShortOrNonHexKey) {
  fs::path short_path = dir_ / "short.key";
  write_file(short_path, "00010203040506070809\n", 0600);
  std::string error;
  EXPECT_FALSE(Fingerprinter::from_key_file(short_path.string(), &error));
  EXPECT_NE(error.find(short_path.string()), std::string::npos) << error;
  EXPECT_NE(error.find("16"), std::string::npos) << error;

  fs::path text_path = dir_ / "text.key";
  write_file(text_path, "this is not hex at all, not at all\n", 0600);
  EXPECT_FALSE(Fingerprinter::from_key_file(text_path.string(), &error));
  EXPECT_NE(error.find("hex"), std::string::npos) << error;
}

TEST_F(KeyFileTest, ReportsUncreatablePath) {
  fs::path blocker = dir_ / "file";
  write_file(blocker, "x", 0600);
  std::string error;
  EXPECT_FALSE(Fingerprinter::from_key_file((blocker / "sub" / "k").string(), &error));
  EXPECT_FALSE(error.empty());
}

TEST(RedactedPreview, LongValueShowsPrefixAndLastFour) {
  std::mt19937 rng(52);
  std::string token = github_pat(rng);
  std::string preview = redacted_preview(token, 4);
  EXPECT_EQ(preview, "ghp_\xE2\x80\xA6" + token.substr(token.size() - 4));
}

TEST(RedactedPreview, ShortValues) {
  EXPECT_EQ(redacted_preview("hunter2", 0), "\xE2\x80\xA6");
  EXPECT_EQ(redacted_preview("sk-abcdefgh", 3), "sk-\xE2\x80\xA6");
  EXPECT_EQ(redacted_preview("ghp_abc", 4), "\xE2\x80\xA6");  // prefix would be more than half
  EXPECT_EQ(redacted_preview("", 4), "\xE2\x80\xA6");
  EXPECT_EQ(redacted_preview("0123456789abcdef", 0), "\xE2\x80\xA6" "cdef");
}

TEST(RedactedPreview, NeverRevealsMoreThanPrefixPlusFour) {
  std::mt19937 rng(53);
  for (size_t length = 0; length < 80; ++length) {
    std::string value = random_from(rng, kAlnumChars, length);
    for (size_t prefix_len : {size_t{0}, size_t{3}, size_t{8}, size_t{200}}) {
      std::string preview = redacted_preview(value, prefix_len);
      size_t revealed = preview.size() - 3;  // minus the ellipsis
      EXPECT_LE(revealed, std::min(prefix_len, value.size()) + 4) << value;
      EXPECT_LE(revealed, value.size() / 2 + 4) << "at most half the value plus the tail";
      if (value.size() >= 8) {
        EXPECT_EQ(preview.find(value), std::string::npos);
      }
    }
  }
}

TEST(RedactedPreview, NonPrintableBytesAreReplaced) {
  std::string value = "ab\ncdefghijklm\x01\x02\xff\x7f";
  std::string preview = redacted_preview(value, 0);
  EXPECT_EQ(preview, "\xE2\x80\xA6" "????");
}

}  // namespace
}  // namespace credtrace::secrets
