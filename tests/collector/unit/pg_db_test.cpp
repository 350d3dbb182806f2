// Unit tests of the libpq helpers that need no server: bytea decoding and array literal escaping.
#include <gtest/gtest.h>

#include "store/postgres/pg_db.h"

using namespace credtrace::collector;

TEST(PgDb, UnhexBytea) {
  const std::string text = "\\x00ff41";
  EXPECT_EQ(pg_unhex_bytea(text.data(), text.size()), std::string("\0\xff" "A", 3));
  EXPECT_EQ(pg_unhex_bytea("plain", 5), "plain");
}

TEST(PgDb, ArrayLiteralsEscapeQuotesAndBackslashes) {
  PgArray array;
  array.add(std::string("a\"b\\c")).add(int64_t{-7}).add(std::string("")).add_bytea(std::string("\x01\xfe", 2));
  EXPECT_EQ(array.param().text, R"({"a\"b\\c",-7,"","\\x01fe"})");
  EXPECT_EQ(PgArray().param().text, "{}");
}
