// Tests of the incremental HTTP/1.1 request parser: framing, pipelining, splitting, resync, gaps and queries.
#include "protocols/http1/request_parser.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "fake_secrets.h"

namespace credtrace::protocols {
namespace {

using testing::github_pat;

std::vector<HttpRequest> parse_all(Http1RequestParser& parser, std::string_view bytes) {
  std::vector<HttpRequest> out;
  parser.feed(bytes, out);
  return out;
}

std::vector<HttpRequest> parse_all(std::string_view bytes) {
  Http1RequestParser parser;
  return parse_all(parser, bytes);
}

std::vector<HttpRequest> parse_bytewise(Http1RequestParser& parser, std::string_view bytes) {
  std::vector<HttpRequest> out;
  for (char c : bytes) parser.feed(std::string_view(&c, 1), out);
  return out;
}

std::string header_value(const HttpRequest& request, std::string_view name) {
  for (const HttpHeader& header : request.headers) {
    if (header.name == name) return header.value;
  }
  return "<absent>";
}

void expect_same(const std::vector<HttpRequest>& a, const std::vector<HttpRequest>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].method, b[i].method);
    EXPECT_EQ(a[i].path, b[i].path);
    EXPECT_EQ(a[i].host, b[i].host);
    EXPECT_EQ(a[i].body_prefix, b[i].body_prefix);
    EXPECT_EQ(a[i].body_truncated, b[i].body_truncated);
    ASSERT_EQ(a[i].headers.size(), b[i].headers.size());
    for (size_t h = 0; h < a[i].headers.size(); ++h) {
      EXPECT_EQ(a[i].headers[h].name, b[i].headers[h].name);
      EXPECT_EQ(a[i].headers[h].value, b[i].headers[h].value);
    }
  }
}

void expect_same_stats(const ParserStats& a, const ParserStats& b) {
  EXPECT_EQ(a.requests, b.requests);
  EXPECT_EQ(a.parse_errors, b.parse_errors);
  EXPECT_EQ(a.bytes_skipped, b.bytes_skipped);
  EXPECT_EQ(a.oversized_headers, b.oversized_headers);
  EXPECT_EQ(a.bodies_truncated, b.bodies_truncated);
}

const std::string kGet = "GET /v1/models HTTP/1.1\r\nHost: API.Example.com\r\nUser-Agent: t/1\r\n\r\n";
const std::string kPost =
    "POST /v1/chat HTTP/1.1\r\nHost: api.example.com\r\nContent-Type: application/json\r\n"
    "Content-Length: 13\r\n\r\n{\"a\":\"hello\"}";
const std::string kHead = "HEAD /health HTTP/1.0\r\nhost: h\r\n\r\n";
const std::string kChunked =
    "POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
    "5;name=value;other\r\nhello\r\n6 ; ext\r\n world\r\n0\r\nX-Checksum: abc\r\nX-Other: d\r\n\r\n";

TEST(Http1RequestParser, ParsesSimpleGet) {
  Http1RequestParser parser;
  auto requests = parse_all(parser, kGet);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].path, "/v1/models");
  EXPECT_EQ(requests[0].host, "api.example.com");
  EXPECT_EQ(header_value(requests[0], "user-agent"), "t/1");
  EXPECT_TRUE(requests[0].body_prefix.empty());
  EXPECT_EQ(parser.stats().requests, 1u);
  EXPECT_EQ(parser.stats().parse_errors, 0u);
}

TEST(Http1RequestParser, PipelinedRequestsInOneFeed) {
  Http1RequestParser parser;
  auto requests = parse_all(parser, kGet + kPost + kHead + kChunked + kGet);
  ASSERT_EQ(requests.size(), 5u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[1].method, "POST");
  EXPECT_EQ(requests[1].body_prefix, "{\"a\":\"hello\"}");
  EXPECT_EQ(requests[2].method, "HEAD");
  EXPECT_TRUE(requests[2].body_prefix.empty());
  EXPECT_EQ(requests[3].body_prefix, "hello world");
  EXPECT_EQ(requests[4].path, "/v1/models");
  EXPECT_EQ(parser.stats().requests, 5u);
  EXPECT_EQ(parser.stats().parse_errors, 0u);
  EXPECT_EQ(parser.stats().bytes_skipped, 0u);
}

TEST(Http1RequestParser, ByteByByteEqualsOneShot) {
  std::string stream = kGet + kPost + kHead + kChunked + kGet;
  Http1RequestParser whole, bytewise;
  auto expected = parse_all(whole, stream);
  auto actual = parse_bytewise(bytewise, stream);
  expect_same(expected, actual);
  expect_same_stats(whole.stats(), bytewise.stats());
}

TEST(Http1RequestParser, RandomSplitsEqualOneShot) {
  std::string garbage = "\x16\x03\x01 binary\nnot http\r\nGET nothing\r\n";
  std::string big(70 * 1024, 'a');
  std::string stream = garbage + kGet + "GET / HTTP/1.1\r\nX-Big: " + big + "\r\n\r\n" + kPost + kChunked + kHead;
  Http1RequestParser whole;
  auto expected = parse_all(whole, stream);
  std::mt19937 rng(7);
  for (int round = 0; round < 20; ++round) {
    Http1RequestParser split;
    std::vector<HttpRequest> actual;
    size_t pos = 0;
    while (pos < stream.size()) {
      size_t n = std::uniform_int_distribution<size_t>(1, 3000)(rng);
      split.feed(std::string_view(stream).substr(pos, n), actual);
      pos += n;
    }
    expect_same(expected, actual);
    expect_same_stats(whole.stats(), split.stats());
  }
}

TEST(Http1RequestParser, ChunkedBodyWithExtensionsAndTrailers) {
  Http1RequestParser parser;
  auto requests = parse_all(parser, kChunked);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].body_prefix, "hello world");
  EXPECT_FALSE(requests[0].body_truncated);
  EXPECT_EQ(header_value(requests[0], "x-checksum"), "<absent>");  // trailers are consumed, not merged
}

TEST(Http1RequestParser, ChunkedBodyWithBareLineFeeds) {
  auto requests = parse_all("POST / HTTP/1.1\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\n" + kGet);
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].body_prefix, "abc");
}

TEST(Http1RequestParser, ContentLengthBodyAndTruncation) {
  std::string body(40000, 'x');
  std::string request = "PUT /blob HTTP/1.1\r\nHost: h\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  Http1RequestParser parser;
  auto requests = parse_all(parser, request + kGet);
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].body_prefix.size(), Http1RequestParser::kMaxBodyPrefix);
  EXPECT_TRUE(requests[0].body_truncated);
  EXPECT_EQ(requests[1].method, "GET");
  EXPECT_EQ(parser.stats().bodies_truncated, 1u);
}

TEST(Http1RequestParser, GetAndHeadWithoutBodies) {
  auto requests = parse_all("GET /a HTTP/1.1\r\n\r\nHEAD /b HTTP/1.1\r\n\r\nDELETE /c HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[1].method, "HEAD");
  EXPECT_EQ(requests[2].method, "DELETE");
  for (const auto& request : requests) EXPECT_TRUE(request.body_prefix.empty());
}

TEST(Http1RequestParser, FoldedHeaderAndRepeatedContentLength) {
  auto requests = parse_all("POST / HTTP/1.1\r\nX-Long: a\r\n  b\r\nContent-Length: 2, 2\r\n\r\nok");
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(header_value(requests[0], "x-long"), "a b");
  EXPECT_EQ(requests[0].body_prefix, "ok");
}

TEST(Http1RequestParser, OversizedHeadersAreCountedAndSkipped) {
  std::string big(Http1RequestParser::kMaxHeaderBlock, 'b');
  std::string stream = "GET / HTTP/1.1\r\nX-A: 1\r\nX-Big: " + big + "\r\nX-C: 2\r\n\r\n" + kGet;
  Http1RequestParser parser;
  auto requests = parse_all(parser, stream);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].path, "/v1/models");
  EXPECT_EQ(parser.stats().oversized_headers, 1u);
  EXPECT_EQ(parser.stats().bytes_skipped, stream.size() - kGet.size());

  Http1RequestParser chunked_parser;  // the same, fed in 1000-byte pieces
  std::vector<HttpRequest> out;
  for (size_t pos = 0; pos < stream.size(); pos += 1000) chunked_parser.feed(std::string_view(stream).substr(pos, 1000), out);
  expect_same(requests, out);
  expect_same_stats(parser.stats(), chunked_parser.stats());
}

TEST(Http1RequestParser, OversizedRequestLineWithoutNewlineIsBounded) {
  Http1RequestParser parser;
  std::vector<HttpRequest> out;
  std::string chunk(8192, 'a');
  parser.feed("GET /", out);
  for (int i = 0; i < 64; ++i) parser.feed(chunk, out);  // 512 KiB of one line
  parser.feed(" HTTP/1.1\r\n\r\n" + kGet, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].path, "/v1/models");
  EXPECT_EQ(parser.stats().oversized_headers, 1u);
}

TEST(Http1RequestParser, GarbageThenValidRequestResynchronises) {
  std::string garbage("\x16\x03\x01\x02\x00 random bytes\r\nmore junk\nPOST\r\n", 36);
  ASSERT_EQ(garbage.back(), '\n');
  Http1RequestParser parser;
  auto requests = parse_all(parser, garbage + kGet);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].path, "/v1/models");
  EXPECT_EQ(parser.stats().parse_errors, 1u);  // one episode
  EXPECT_EQ(parser.stats().bytes_skipped, garbage.size());
  EXPECT_FALSE(parser.last_error().empty());

  Http1RequestParser bytewise;
  expect_same(requests, parse_bytewise(bytewise, garbage + kGet));
  expect_same_stats(parser.stats(), bytewise.stats());
}

TEST(Http1RequestParser, GarbageOnTheSameLineHidesTheRequest) {
  Http1RequestParser parser;  // resynchronisation is at line starts only
  auto requests = parse_all(parser, "\x16\x03garbage" + kGet + kHead);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "HEAD");
  EXPECT_EQ(parser.stats().parse_errors, 1u);
}

TEST(Http1RequestParser, Http2PrefaceIsNotHttp1) {
  Http1RequestParser parser;
  auto requests = parse_all(parser, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
  EXPECT_TRUE(requests.empty());
  EXPECT_EQ(parser.stats().parse_errors, 1u);
}

TEST(Http1RequestParser, MalformedFramingIsAParseError) {
  for (std::string bad : {"POST / HTTP/1.1\r\nContent-Length: 12x\r\n\r\n", "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                          "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", "GET / HTTP/1.1\r\nBad Header\r\n\r\n",
                          "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"}) {
    Http1RequestParser parser;
    auto requests = parse_all(parser, bad + kGet);
    ASSERT_EQ(requests.size(), 1u) << bad;
    EXPECT_EQ(requests[0].path, "/v1/models") << bad;
    EXPECT_EQ(parser.stats().parse_errors, 1u) << bad;
  }
}

TEST(Http1RequestParser, GapDropsPartialRequestAndResynchronises) {
  Http1RequestParser parser;
  std::vector<HttpRequest> out;
  parser.feed("POST /x HTTP/1.1\r\nContent-Length: 100\r\n\r\npartial body", out);
  parser.gap(50);
  parser.feed("rest of the body that we now skip\r\n" + kGet, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].path, "/v1/models");
  EXPECT_EQ(parser.stats().gaps, 1u);
  EXPECT_EQ(parser.stats().bytes_missing, 50u);
  EXPECT_EQ(parser.stats().parse_errors, 0u);  // expected loss, counted as a gap, not a parse error
  EXPECT_GT(parser.stats().bytes_skipped, 0u);
}

TEST(Http1RequestParser, GapInsideHeadersAndAtABoundary) {
  Http1RequestParser parser;
  std::vector<HttpRequest> out;
  parser.feed("GET /a HTTP/1.1\r\nHost: h\r\nX-", out);
  parser.gap(10);
  parser.feed("ue\r\n\r\n" + kGet, out);  // tail of the lost request, then a full one
  parser.gap(0);                           // nothing missing: no-op
  parser.feed(kHead, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].path, "/v1/models");
  EXPECT_EQ(out[1].method, "HEAD");
  EXPECT_EQ(parser.stats().gaps, 1u);
  parser.gap(5);  // between requests: the next bytes start a request line
  parser.feed(kGet, out);
  EXPECT_EQ(out.size(), 3u);
}

TEST(Http1RequestParser, ConnectTunnelBytesAreSkippedSilently) {
  Http1RequestParser parser;
  auto requests = parse_all(parser, "CONNECT api.example.com:443 HTTP/1.1\r\nHost: api.example.com:443\r\n\r\n"
                                    "\x16\x03\x01 tls handshake bytes\n\x17\x03\x03");
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].host, "api.example.com:443");
  EXPECT_EQ(requests[0].path, "");
  EXPECT_EQ(parser.stats().parse_errors, 0u);
}

TEST(Http1RequestParser, QueryValuesAreRemovedFromPath) {
  std::string secret = github_pat();
  Http1RequestParser parser;
  std::vector<HttpRequest> out;
  std::vector<std::string> raw_queries;
  parser.feed("GET /a?key=" + secret + "&x=1&flag&empty= HTTP/1.1\r\nHost: h\r\n\r\n" + kGet, out, raw_queries);
  ASSERT_EQ(out.size(), 2u);
  ASSERT_EQ(raw_queries.size(), 2u);
  EXPECT_EQ(out[0].path, "/a?key=&x=&flag&empty=");
  EXPECT_EQ(out[0].raw_target_query_keys_only, "key=&x=&flag&empty=");
  EXPECT_EQ(raw_queries[0], "key=" + secret + "&x=1&flag&empty=");
  EXPECT_EQ(raw_queries[1], "");
  EXPECT_EQ(out[1].raw_target_query_keys_only, "");
}

TEST(Http1RequestParser, AbsoluteFormTargetAndSecretsInPathOrNames) {
  std::string secret = github_pat();
  auto requests = parse_all("GET http://user:" + secret + "@Proxy.Example:8080/repos/" + secret + "/x?" + secret +
                            "&a=b#frag HTTP/1.1\r\n\r\nOPTIONS * HTTP/1.1\r\n\r\nGET https://h.example?q=1 HTTP/1.1\r\n\r\n");
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].host, "proxy.example:8080");
  EXPECT_EQ(requests[0].path, "/repos/<redacted:github_pat>/x?<redacted>&a=");
  EXPECT_EQ(requests[1].path, "*");
  EXPECT_EQ(requests[2].host, "h.example");
  EXPECT_EQ(requests[2].path, "/?q=");
}

TEST(Http1RequestParser, LooksLikeHttp1Request) {
  EXPECT_TRUE(Http1RequestParser::looks_like_http1_request("GET / HTTP/1.1\r\n"));
  EXPECT_TRUE(Http1RequestParser::looks_like_http1_request("POST /v1/chat/completions HTT"));
  EXPECT_TRUE(Http1RequestParser::looks_like_http1_request("PATCH /x"));
  EXPECT_FALSE(Http1RequestParser::looks_like_http1_request("GET"));
  EXPECT_FALSE(Http1RequestParser::looks_like_http1_request("GET "));
  EXPECT_FALSE(Http1RequestParser::looks_like_http1_request("PRI * HTTP/2.0\r\n"));
  EXPECT_FALSE(Http1RequestParser::looks_like_http1_request("GET / HTTP/2\r\n"));
  EXPECT_FALSE(Http1RequestParser::looks_like_http1_request("get / HTTP/1.1\r\n"));
  EXPECT_FALSE(Http1RequestParser::looks_like_http1_request("\x16\x03\x01\x02\x00"));
  EXPECT_FALSE(Http1RequestParser::looks_like_http1_request(""));
}

TEST(Http1RequestParser, NoStatErrorOrPathHoldsASecret) {
  std::string secret = github_pat();
  std::string stream = "junk " + secret + "\r\nGET /p?token=" + secret + " HTTP/1.1\r\nAuthorization: Bearer " + secret +
                       "\r\nBad " + secret + "\r\n\r\nGET /q/" + secret + "?api_key=" + secret +
                       " HTTP/1.1\r\nContent-Length: 1\r\n\r\nx";
  Http1RequestParser parser;
  auto requests = parse_all(parser, stream);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].path.find(secret), std::string::npos);
  EXPECT_EQ(requests[0].raw_target_query_keys_only.find(secret), std::string::npos);
  EXPECT_EQ(parser.last_error().find(secret), std::string::npos);
  EXPECT_EQ(parser.last_error().find(secret.substr(4)), std::string::npos);
  const ParserStats& s = parser.stats();
  std::string stats_text = std::to_string(s.requests) + " " + std::to_string(s.parse_errors) + " " +
                           std::to_string(s.bytes_skipped) + " " + std::to_string(s.oversized_headers);
  EXPECT_EQ(stats_text.find(secret), std::string::npos);
  EXPECT_EQ(s.parse_errors, 2u);
}

}  // namespace
}  // namespace credtrace::protocols
