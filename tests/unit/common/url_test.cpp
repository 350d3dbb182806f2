// Tests for the shared URL helpers: host extraction (userinfo, port, IPv6 brackets, path/query/fragment) and the
// loopback rule that allows plain http (127/8, ::1, IPv4-mapped 127/8, localhost, *.localhost; nothing else).
#include "common/url.h"

#include <gtest/gtest.h>

namespace credtrace::common {
namespace {

TEST(UrlHostOf, TakesTheHostWithoutSchemeUserinfoPortOrPath) {
  EXPECT_EQ(host_of("https://collector.example:8787/v1/ingest"), "collector.example");
  EXPECT_EQ(host_of("http://127.0.0.1:9/"), "127.0.0.1");
  EXPECT_EQ(host_of("http://localhost"), "localhost");
  EXPECT_EQ(host_of("http://Collector.Example?x=1"), "Collector.Example");  // case kept
  EXPECT_EQ(host_of("http://h.example#frag"), "h.example");
  EXPECT_EQ(host_of("collector:8787"), "collector");  // no scheme: the whole text is the authority
  EXPECT_EQ(host_of("http://"), "");
  EXPECT_EQ(host_of("http:///path"), "");
}

TEST(UrlHostOf, KeepsBracketsOfIpv6LiteralsAndDropsTheirPort) {
  EXPECT_EQ(host_of("http://[::1]:8080/v1"), "[::1]");
  EXPECT_EQ(host_of("http://[::1]"), "[::1]");
  EXPECT_EQ(host_of("https://[2001:db8::5]:443"), "[2001:db8::5]");
  EXPECT_EQ(host_of("http://[::1"), "");  // unterminated literal: no host
}

TEST(UrlHostOf, SkipsUserinfoUpToTheLastAt) {
  EXPECT_EQ(host_of("http://user:secret@127.0.0.1:9/"), "127.0.0.1");
  EXPECT_EQ(host_of("http://127.0.0.1@evil.example/"), "evil.example");  // userinfo that looks like a host
  EXPECT_EQ(host_of("http://127.0.0.1:80@evil.example:80/"), "evil.example");
  EXPECT_EQ(host_of("http://evil.example/@127.0.0.1"), "evil.example");   // '@' in the path is not userinfo
  EXPECT_EQ(host_of("http://evil.example#@127.0.0.1"), "evil.example");   // nor in the fragment
  EXPECT_EQ(host_of("http://evil.example?@127.0.0.1"), "evil.example");   // nor in the query
}

TEST(UrlLoopback, Ipv4LoopbackIsTheWhole127Network) {
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("127.1.2.3"));
  EXPECT_TRUE(is_loopback_host("127.255.255.255"));
  EXPECT_FALSE(is_loopback_host("128.0.0.1"));
  EXPECT_FALSE(is_loopback_host("10.0.0.1"));
  EXPECT_FALSE(is_loopback_host("0.0.0.0"));
  EXPECT_FALSE(is_loopback_host("127.0.0.1.evil.example"));
  EXPECT_FALSE(is_loopback_host("127.1"));  // other spellings are refused rather than guessed
}

TEST(UrlLoopback, Ipv6LoopbackBareOrBracketed) {
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_TRUE(is_loopback_host("[::1]"));
  EXPECT_TRUE(is_loopback_host("[0:0:0:0:0:0:0:1]"));
  EXPECT_TRUE(is_loopback_host("[::ffff:127.0.0.1]"));  // IPv4-mapped 127/8
  EXPECT_FALSE(is_loopback_host("[::ffff:10.0.0.1]"));
  EXPECT_FALSE(is_loopback_host("[::]"));
  EXPECT_FALSE(is_loopback_host("[2001:db8::1]"));
  EXPECT_FALSE(is_loopback_host("[::1"));
  EXPECT_FALSE(is_loopback_host("[]"));
}

TEST(UrlLoopback, LocalhostAndItsSubdomains) {
  EXPECT_TRUE(is_loopback_host("localhost"));
  EXPECT_TRUE(is_loopback_host("LocalHost"));
  EXPECT_TRUE(is_loopback_host("collector.localhost"));
  EXPECT_TRUE(is_loopback_host("a.b.localhost"));
  EXPECT_FALSE(is_loopback_host(".localhost"));
  EXPECT_FALSE(is_loopback_host("evillocalhost"));
  EXPECT_FALSE(is_loopback_host("localhost.evil.example"));
  EXPECT_FALSE(is_loopback_host("localhost."));
}

TEST(UrlLoopback, OtherHostsAreNotLoopback) {
  EXPECT_FALSE(is_loopback_host(""));
  EXPECT_FALSE(is_loopback_host("collector.example"));
  EXPECT_FALSE(is_loopback_host("evil.example"));
}

TEST(UrlLoopback, TheHostOfAUrlDecides) {
  EXPECT_TRUE(is_loopback_host(host_of("http://[::1]:9/v1/ingest")));
  EXPECT_TRUE(is_loopback_host(host_of("http://user:pw@localhost:9")));
  EXPECT_TRUE(is_loopback_host(host_of("http://agent.localhost:8787")));
  EXPECT_FALSE(is_loopback_host(host_of("http://127.0.0.1@evil.example:9")));
  EXPECT_FALSE(is_loopback_host(host_of("http://evil.example#@127.0.0.1")));
}

}  // namespace
}  // namespace credtrace::common
