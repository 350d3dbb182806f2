// Tests for uid → user name lookups.
#include "identity/users.h"

#include <pwd.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace credtrace::identity {
namespace {

TEST(Users, RootIsRoot) { EXPECT_EQ(user_name_for_uid(0), "root"); }

TEST(Users, CurrentUserMatchesGetpwuid) {
  const passwd* pw = ::getpwuid(::getuid());
  std::string expected = pw ? pw->pw_name : "";
  EXPECT_EQ(user_name_for_uid(::getuid()), expected);
}

TEST(Users, UnknownUidIsEmpty) {
  EXPECT_EQ(user_name_for_uid(3'999'999'999U), "");
  EXPECT_EQ(user_name_for_uid(3'999'999'999U), "") << "cached negative answer is still empty";
}

TEST(Users, ConcurrentLookupsAgree) {
  std::vector<std::thread> threads;
  std::vector<std::string> results(8);
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&results, i] { results[i] = user_name_for_uid(0); });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) EXPECT_EQ(r, "root");
}

}  // namespace
}  // namespace credtrace::identity
