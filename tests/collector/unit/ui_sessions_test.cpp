// Unit tests of the web UI's sessions (ids, CSRF tokens, idle and absolute expiry, eviction past the limit) and of
// the cookie and form parsing its login and logout rely on.
#include <gtest/gtest.h>

#include <set>

#include "ui/ui_server.h"
#include "ui/ui_sessions.h"

using namespace credtrace::collector;
using namespace std::chrono_literals;

namespace {
const UiSessionBook::Clock::time_point kStart{};
}

TEST(UiSessions, AnOpenedSessionIsUsableUntilClosed) {
  UiSessionBook book;
  const std::string id = book.open(kStart);
  ASSERT_EQ(id.size(), 64u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
  auto view = book.use(id, kStart + 1s);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->csrf_token.size(), 64u);
  EXPECT_NE(view->csrf_token, id);
  EXPECT_EQ(book.use(id, kStart + 2s)->csrf_token, view->csrf_token);  // stable for the session's life
  EXPECT_TRUE(book.close(id));
  EXPECT_FALSE(book.use(id, kStart + 3s));
  EXPECT_FALSE(book.close(id));
}

TEST(UiSessions, IdsAreRandomAndUnknownIdsAreRefused) {
  UiSessionBook book;
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) ids.insert(book.open(kStart));
  EXPECT_EQ(ids.size(), 100u);
  EXPECT_FALSE(book.use(std::string(64, '0'), kStart));
  EXPECT_FALSE(book.use("", kStart));
  EXPECT_FALSE(book.use(*ids.begin() + "0", kStart));  // a longer value is not a prefix match
  EXPECT_FALSE(book.use(ids.begin()->substr(0, 63), kStart));
}

TEST(UiSessions, IdleAndAbsoluteLifetimesEndSessions) {
  UiSessionBook book(UiSessionLimits{10min, 1h, 100});
  const std::string idle = book.open(kStart), busy = book.open(kStart);
  for (auto t = 5min; t < 55min; t += 5min) ASSERT_TRUE(book.use(busy, kStart + t)) << t.count();
  EXPECT_FALSE(book.use(idle, kStart + 11min));  // unused for longer than the idle time
  EXPECT_TRUE(book.use(busy, kStart + 59min));
  EXPECT_FALSE(book.use(busy, kStart + 60min));  // used all along, but as old as the absolute lifetime
  EXPECT_EQ(book.live(), 0u);
  EXPECT_EQ(book.expired(), 2u);
}

TEST(UiSessions, PastTheLimitTheLeastRecentlyUsedSessionIsEvicted) {
  UiSessionBook book(UiSessionLimits{1h, 12h, 3});
  const std::string a = book.open(kStart), b = book.open(kStart + 1s), c = book.open(kStart + 2s);
  ASSERT_TRUE(book.use(a, kStart + 3s));  // b is now the least recently used
  const std::string d = book.open(kStart + 4s);
  EXPECT_EQ(book.live(), 3u);
  EXPECT_EQ(book.evicted(), 1u);
  EXPECT_FALSE(book.use(b, kStart + 5s));
  EXPECT_TRUE(book.use(a, kStart + 5s));
  EXPECT_TRUE(book.use(c, kStart + 5s));
  EXPECT_TRUE(book.use(d, kStart + 5s));
}

TEST(UiSessions, SecretsCompareWhole) {
  EXPECT_TRUE(same_secret("abc", "abc"));
  EXPECT_FALSE(same_secret("abc", "abd"));
  EXPECT_FALSE(same_secret("abc", "ab"));
  EXPECT_FALSE(same_secret("", "a"));
}

TEST(UiRequests, CookieValueFindsTheNamedCookieOnly) {
  EXPECT_EQ(cookie_value("a=1; ct_session=abc; b=2", "ct_session"), "abc");
  EXPECT_EQ(cookie_value("ct_session=abc", "ct_session"), "abc");
  EXPECT_EQ(cookie_value("x_ct_session=abc; ct_session_old=def", "ct_session"), "");
  EXPECT_EQ(cookie_value("", "ct_session"), "");
  EXPECT_EQ(cookie_value("ct_session", "ct_session"), "");
}

TEST(UiRequests, FormFieldsArePercentAndPlusDecoded) {
  EXPECT_EQ(form_field("token=abc", "token"), "abc");
  EXPECT_EQ(form_field("a=1&token=r%2Bt+x%3d&b=2", "token"), "r+t x=");
  EXPECT_EQ(form_field("tok%65n=v", "token"), "v");
  EXPECT_EQ(form_field("token=", "token"), "");
  EXPECT_EQ(form_field("token", "token"), "");
  EXPECT_EQ(form_field("a=1", "token"), std::nullopt);
  EXPECT_EQ(form_field("token=%zz%4", "token"), "%zz%4");  // a broken escape is kept as it is
}
