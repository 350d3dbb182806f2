// Tests of the path test: real paths are paths; base64 secrets that start with '/' are not.
#include "secrets/file_paths.h"

#include <gtest/gtest.h>

#include "test_tokens.h"

namespace credtrace::secrets {
namespace {

using namespace credtrace::secrets::testing;

constexpr std::string_view kBase64Chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

TEST(LooksLikeFilePath, PathsAreRecognised) {
  for (std::string_view path : {"/run/secrets/db_password", "/var/run/secrets/kubernetes.io/serviceaccount/token",
                                "~/.aws/credentials", "./key.pem", "../certs/tls.key", "/etc/ssl/private/key.pem",
                                "/home/user", "/opt/app-2024/config/ServiceAccountKey.json",
                                "/srv/keys/prod-east-1/signing_key_v2.pem", "/usr/local/share/ApplicationSupport/Keys",
                                "/"}) {
    EXPECT_TRUE(looks_like_file_path(path)) << path;
  }
}

TEST(LooksLikeFilePath, ValuesWithoutPathPrefixAreNotPaths) {
  EXPECT_FALSE(looks_like_file_path("run/secrets/x"));
  EXPECT_FALSE(looks_like_file_path("s3cr3t-Pa55"));
  EXPECT_FALSE(looks_like_file_path(""));
}

TEST(LooksLikeFilePath, NonPathCharactersOrRandomComponentsAreNotPaths) {
  EXPECT_FALSE(looks_like_file_path("/wJalrXUtnFEMI+K7MDENG/bPxRfiCYzQ9Lq3vT2a"));  // '+'
  EXPECT_FALSE(looks_like_file_path("/K7MDENGbPxRfiCYzQ9Lq3vT2awJalrXUtnFEMI1"));   // one random component
  EXPECT_FALSE(looks_like_file_path("/bin/sh -c 'echo hi'"));                        // spaces, quotes
  EXPECT_FALSE(looks_like_file_path("/dGVzdA=="));                                   // base64 padding
}

// About 1 in 64 AWS secret access keys starts with '/': such a key must still be reported as a secret.
TEST(LooksLikeFilePath, RandomBase64KeysStartingWithSlashAreNotPaths) {
  std::mt19937 rng(7);
  int taken_for_paths = 0;
  constexpr int kKeys = 10000;
  for (int i = 0; i < kKeys; ++i) {
    std::string key(1, '/');
    key += random_from(rng, kBase64Chars, 39);
    if (looks_like_file_path(key)) ++taken_for_paths;
  }
  EXPECT_EQ(taken_for_paths, 0) << taken_for_paths << " of " << kKeys << " keys taken for paths";
}

}  // namespace
}  // namespace credtrace::secrets
