// Unit tests of token sets: file format, bearer parsing, wrong and empty tokens.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "http/auth.h"

using namespace credtrace::collector;

TEST(TokenSet, LoadsFileSkippingCommentsAndBlanks) {
  std::string path = ::testing::TempDir() + "/tokens.txt";
  std::ofstream(path) << "# agents\n\n  tok-one  \ntok-two\r\n#tok-three\n";
  TokenSet set;
  ASSERT_TRUE(TokenSet::load(path, set).ok());
  EXPECT_EQ(set.size(), 2u);
  EXPECT_TRUE(set.authorizes("Bearer tok-one"));
  EXPECT_TRUE(set.authorizes("bearer tok-two"));
  EXPECT_FALSE(set.authorizes("Bearer tok-three"));
  EXPECT_FALSE(set.authorizes("Bearer tok-on"));
  EXPECT_FALSE(set.authorizes("tok-one"));
  EXPECT_FALSE(set.authorizes("Basic tok-one"));
  EXPECT_FALSE(set.authorizes("Bearer "));
  EXPECT_FALSE(set.authorizes(""));
  std::remove(path.c_str());
}

TEST(TokenSet, EmptyOrMissingFileIsAnError) {
  std::string path = ::testing::TempDir() + "/empty-tokens.txt";
  std::ofstream(path) << "# nothing\n";
  TokenSet set;
  EXPECT_FALSE(TokenSet::load(path, set).ok());
  EXPECT_FALSE(TokenSet::load(path + ".missing", set).ok());
  std::remove(path.c_str());
}
