// Unit tests of the netrc parser: machine/default entries, tokens across lines, macdef, missing values.
#include <gtest/gtest.h>

#include "credfiles/parsers.h"
#include "credfiles_test_util.h"

namespace credtrace::credfiles {
namespace {

using testing::find_key;

TEST(NetrcParser, MachinesDefaultAndMacros) {
  ParseResult r = parse_netrc(testing::read_fixture("netrc/.netrc"));
  EXPECT_EQ(r.error, "");
  const Finding* api = find_key(r, "machine api.fake.example.password");
  ASSERT_NE(api, nullptr);
  EXPECT_EQ(api->type, "password");
  EXPECT_EQ(api->value.view(), "FAKEnetrcPassw0rd");
  EXPECT_EQ(api->line, 2);
  const Finding* multi = find_key(r, "machine multi.fake.example.password");
  ASSERT_NE(multi, nullptr);
  EXPECT_EQ(multi->type, "github_pat");
  EXPECT_EQ(multi->line, 5);
  const Finding* def = find_key(r, "default.password");
  ASSERT_NE(def, nullptr);
  EXPECT_EQ(def->value.view(), "FAKEdefaultPass");
  EXPECT_EQ(def->line, 10);
  EXPECT_EQ(r.findings.size(), 3u);  // the macro body's "password" is not an entry
}

TEST(NetrcParser, MissingValueIsAnError) {
  ParseResult r = parse_netrc("machine x.fake.example login u password");
  EXPECT_NE(r.error.find("'password' without a value"), std::string::npos) << r.error;
}

TEST(NetrcParser, QuotedPassword) {
  ParseResult r = parse_netrc("machine q.fake.example login u password \"FAKE pass word\"\n");
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].value.view(), "FAKE pass word");
}

}  // namespace
}  // namespace credtrace::credfiles
