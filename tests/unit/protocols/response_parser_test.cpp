// Tests of the incremental HTTP/1.1 response parser: framing, request pairing, splitting, resync, gaps, limits.
#include "protocols/http1/response_parser.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "fake_secrets.h"

namespace credtrace::protocols {
namespace {

namespace fake = testing;
using namespace std::string_literals;

std::vector<HttpResponse> parse_all(Http1ResponseParser& parser, std::string_view bytes) {
  std::vector<HttpResponse> out;
  parser.feed(bytes, out);
  return out;
}

std::vector<HttpResponse> parse_bytewise(Http1ResponseParser& parser, std::string_view bytes) {
  std::vector<HttpResponse> out;
  for (char c : bytes) parser.feed(std::string_view(&c, 1), out);
  return out;
}

std::string header_value(const HttpResponse& response, std::string_view name) {
  for (const HttpHeader& header : response.headers) {
    if (header.name == name) return header.value;
  }
  return "<absent>";
}

void expect_same(const std::vector<HttpResponse>& a, const std::vector<HttpResponse>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].status, b[i].status);
    EXPECT_EQ(a[i].request_method, b[i].request_method);
    EXPECT_EQ(a[i].body_prefix, b[i].body_prefix);
    EXPECT_EQ(a[i].body_truncated, b[i].body_truncated);
    EXPECT_EQ(a[i].body_encoded, b[i].body_encoded);
    ASSERT_EQ(a[i].headers.size(), b[i].headers.size());
    for (size_t h = 0; h < a[i].headers.size(); ++h) {
      EXPECT_EQ(a[i].headers[h].name, b[i].headers[h].name);
      EXPECT_EQ(a[i].headers[h].value, b[i].headers[h].value);
    }
  }
}

void expect_same_stats(const ResponseParserStats& a, const ResponseParserStats& b) {
  EXPECT_EQ(a.responses, b.responses);
  EXPECT_EQ(a.interim_responses, b.interim_responses);
  EXPECT_EQ(a.parse_errors, b.parse_errors);
  EXPECT_EQ(a.bytes_skipped, b.bytes_skipped);
  EXPECT_EQ(a.oversized_headers, b.oversized_headers);
  EXPECT_EQ(a.bodies_truncated, b.bodies_truncated);
  EXPECT_EQ(a.responses_dropped, b.responses_dropped);
  EXPECT_EQ(a.unpaired_responses, b.unpaired_responses);
}

std::string json_response(const std::string& body, int status = 200) {
  return "HTTP/1.1 " + std::to_string(status) + " OK\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

const std::string kTokenBody = R"({"access_token":")" + fake::github_app_token() +
                               R"(","token_type":"bearer","expires_in":3600})";
const std::string kChunked =
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n"
    "5;name=value;other\r\nhello\r\n6 ; ext\r\n world\r\n0\r\nX-Checksum: abc\r\nServer-Timing: db;dur=53\r\n\r\n";

TEST(Http1ResponseParser, ContentLength) {
  Http1ResponseParser parser;
  parser.request_sent("POST");
  auto responses = parse_all(parser, json_response(kTokenBody));
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].status, 200);
  EXPECT_EQ(responses[0].request_method, "POST");
  EXPECT_EQ(responses[0].body_prefix, kTokenBody);
  EXPECT_FALSE(responses[0].body_truncated);
  EXPECT_FALSE(responses[0].body_encoded);
  ASSERT_EQ(responses[0].headers.size(), 2u);
  EXPECT_EQ(responses[0].headers[0].name, "content-type");
  EXPECT_EQ(responses[0].headers[0].value, "application/json");
  EXPECT_EQ(responses[0].headers[1].name, "content-length");
  EXPECT_EQ(parser.stats().responses, 1u);
  EXPECT_EQ(parser.stats().parse_errors, 0u);
  EXPECT_EQ(parser.pending_requests(), 0u);
}

TEST(Http1ResponseParser, ChunkedWithExtensionsAndTrailers) {
  Http1ResponseParser parser;
  auto responses = parse_all(parser, kChunked + json_response("{}"));
  ASSERT_EQ(responses.size(), 2u);
  EXPECT_EQ(responses[0].body_prefix, "hello world");
  EXPECT_EQ(header_value(responses[0], "x-checksum"), "<absent>");  // trailers are consumed, not kept
  EXPECT_EQ(responses[1].body_prefix, "{}");
  EXPECT_EQ(responses[0].request_method, "");
  EXPECT_EQ(parser.stats().unpaired_responses, 2u);
  EXPECT_EQ(parser.stats().parse_errors, 0u);
}

TEST(Http1ResponseParser, ChunkedUpperCaseHexAndBareLineFeeds) {
  Http1ResponseParser parser;
  std::string body(0x1A, 'z');
  auto responses = parse_all(parser, "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n1A\n" + body + "\n0\n\n");
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].body_prefix, body);
}

TEST(Http1ResponseParser, ByteByByteAndRandomSplitsMatchWholeFeed) {
  std::string stream = "HTTP/1.1 100 Continue\r\n\r\n" + json_response(kTokenBody) + kChunked +
                       "HTTP/1.1 204 No Content\r\nX-Request-Id: 1\r\n\r\n" +
                       "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\nETag: \"x\"\r\n\r\n" +
                       "HTTP/1.0 200\r\nFolded: a\r\n  b\r\nContent-Length: 3\r\n\r\nabc" + "HTTP/1.1 404 Not Found\r\n\r\nrest";
  auto run = [&](auto feeder) {
    Http1ResponseParser parser;
    for (int i = 0; i < 6; ++i) parser.request_sent("GET");
    std::vector<HttpResponse> out = feeder(parser);
    parser.finish(out);
    return std::make_pair(out, parser.stats());
  };
  auto [whole, whole_stats] = run([&](Http1ResponseParser& p) { return parse_all(p, stream); });
  ASSERT_EQ(whole.size(), 6u);
  EXPECT_EQ(whole[4].status, 200);
  EXPECT_EQ(header_value(whole[4], "folded"), "a b");
  EXPECT_EQ(whole[4].body_prefix, "abc");
  EXPECT_EQ(whole[5].status, 404);
  EXPECT_EQ(whole[5].body_prefix, "rest");  // close-delimited, emitted by finish()
  EXPECT_EQ(whole_stats.interim_responses, 1u);

  auto [bytewise, bytewise_stats] = run([&](Http1ResponseParser& p) { return parse_bytewise(p, stream); });
  expect_same(whole, bytewise);
  expect_same_stats(whole_stats, bytewise_stats);

  std::mt19937 rng(7);
  for (int round = 0; round < 50; ++round) {
    auto [split, split_stats] = run([&](Http1ResponseParser& p) {
      std::vector<HttpResponse> out;
      size_t pos = 0;
      while (pos < stream.size()) {
        size_t n = std::uniform_int_distribution<size_t>(1, 40)(rng);
        p.feed(std::string_view(stream).substr(pos, n), out);
        pos += n;
      }
      return out;
    });
    expect_same(whole, split);
    expect_same_stats(whole_stats, split_stats);
  }
}

TEST(Http1ResponseParser, PipelinedWithHead204304And100Continue) {
  Http1ResponseParser parser;
  parser.request_sent("GET");
  parser.request_sent("HEAD");
  parser.request_sent("POST");
  parser.request_sent("DELETE");
  parser.request_sent("GET");
  std::string stream = json_response(R"({"a":1})") +
                       "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nContent-Type: application/json\r\n\r\n" +  // HEAD
                       "HTTP/1.1 100 Continue\r\n\r\n" + "HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n" +
                       json_response(R"({"created":true})", 201) + "HTTP/1.1 204 No Content\r\n\r\n" +
                       "HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n";
  auto responses = parse_all(parser, stream);
  ASSERT_EQ(responses.size(), 5u);
  EXPECT_EQ(responses[0].request_method, "GET");
  EXPECT_EQ(responses[0].body_prefix, R"({"a":1})");
  EXPECT_EQ(responses[1].request_method, "HEAD");
  EXPECT_EQ(responses[1].status, 200);
  EXPECT_EQ(responses[1].body_prefix, "");
  EXPECT_EQ(responses[2].request_method, "POST");
  EXPECT_EQ(responses[2].status, 201);
  EXPECT_EQ(responses[2].body_prefix, R"({"created":true})");
  EXPECT_EQ(responses[3].request_method, "DELETE");
  EXPECT_EQ(responses[3].status, 204);
  EXPECT_EQ(responses[4].request_method, "GET");
  EXPECT_EQ(responses[4].status, 304);
  EXPECT_EQ(parser.stats().interim_responses, 2u);
  EXPECT_EQ(parser.stats().responses, 5u);
  EXPECT_EQ(parser.stats().parse_errors, 0u);
  EXPECT_EQ(parser.pending_requests(), 0u);
}

TEST(Http1ResponseParser, CloseDelimitedBodyEmittedByFinish) {
  Http1ResponseParser parser;
  parser.request_sent("GET");
  auto responses = parse_all(parser, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\npart one, ");
  EXPECT_TRUE(responses.empty());
  parser.feed("HTTP/1.1 200 OK\r\n\r\npart two", responses);  // still the body: no framing until close
  EXPECT_TRUE(responses.empty());
  parser.finish(responses);
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].body_prefix, "part one, HTTP/1.1 200 OK\r\n\r\npart two");
  EXPECT_EQ(parser.stats().responses_dropped, 0u);

  // finish() resets the parser: a new stream parses from scratch.
  parser.feed(json_response("{}"), responses);
  ASSERT_EQ(responses.size(), 2u);
  EXPECT_EQ(responses[1].request_method, "");
}

TEST(Http1ResponseParser, FinishDropsIncompleteFramedResponse) {
  Http1ResponseParser parser;
  parser.request_sent("GET");
  parser.request_sent("GET");
  std::vector<HttpResponse> responses;
  parser.feed("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly a part", responses);
  parser.finish(responses);
  EXPECT_TRUE(responses.empty());
  EXPECT_EQ(parser.stats().responses_dropped, 1u);
  EXPECT_EQ(parser.pending_requests(), 0u);  // the connection is gone
}

TEST(Http1ResponseParser, GapInHeaderBlockResyncsAtNextStatusLine) {
  Http1ResponseParser parser;
  std::vector<HttpResponse> responses;
  parser.feed("HTTP/1.1 200 OK\r\nContent-Type: appl", responses);
  parser.gap(5000);
  // The rest of some body, without a final newline, then the next response right after it.
  parser.feed("ication/json\r\n\r\n{\"x\":\"y\"}" + json_response(R"({"ok":true})"), responses);
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].body_prefix, R"({"ok":true})");
  EXPECT_EQ(parser.stats().gaps, 1u);
  EXPECT_EQ(parser.stats().bytes_missing, 5000u);
  EXPECT_EQ(parser.stats().parse_errors, 0u);  // a gap is not a parse error
  EXPECT_GT(parser.stats().bytes_skipped, 0u);
}

TEST(Http1ResponseParser, GapInsideKnownLengthBodyDiscardsByFraming) {
  Http1ResponseParser parser;
  std::vector<HttpResponse> responses;
  // The body text contains a status-like line that a naive resync would take for a response.
  std::string body = "0123456789\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nxxxxxxxxxxxxxxxxxxxxxx";
  std::string stream = json_response(body) + json_response(R"({"next":1})");
  size_t head = stream.find("\r\n\r\n") + 4;
  parser.feed(stream.substr(0, head + 4), responses);
  parser.gap(6);  // bytes [head+4, head+10) lost
  parser.feed(stream.substr(head + 10), responses);
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].body_prefix, R"({"next":1})");
  EXPECT_EQ(parser.stats().responses_dropped, 1u);
  EXPECT_EQ(parser.stats().parse_errors, 0u);
}

TEST(Http1ResponseParser, GapInsideChunkedBody) {
  Http1ResponseParser parser;
  std::vector<HttpResponse> responses;
  parser.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123", responses);
  parser.gap(4);
  parser.feed("89abcdef\r\n0\r\n\r\n" + json_response("{}"), responses);
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].body_prefix, "{}");
  EXPECT_EQ(parser.stats().responses_dropped, 1u);
}

TEST(Http1ResponseParser, GapPastTheBodyEndResyncs) {
  Http1ResponseParser parser;
  std::vector<HttpResponse> responses;
  parser.feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234", responses);
  parser.gap(100);  // the end of this body and the start of the next response are lost
  parser.feed("gth: 3\r\n\r\nabc" + json_response("[1]"), responses);
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].body_prefix, "[1]");
}

TEST(Http1ResponseParser, OversizedHeaderBlockIsSkipped) {
  Http1ResponseParser parser;
  std::vector<HttpResponse> responses;
  std::string huge = "HTTP/1.1 200 OK\r\n";
  while (huge.size() <= Http1ResponseParser::kMaxHeaderBlock) huge += "X-Filler: " + std::string(100, 'f') + "\r\n";
  parser.feed(huge + "\r\nbody" + json_response("{}"), responses);
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].body_prefix, "{}");
  EXPECT_EQ(parser.stats().oversized_headers, 1u);
  EXPECT_EQ(parser.stats().parse_errors, 0u);
}

TEST(Http1ResponseParser, OversizedBytewiseMatchesWhole) {
  std::string huge = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(Http1ResponseParser::kMaxHeaderBlock, 'a') +
                     "\r\n\r\n" + json_response("{}");
  Http1ResponseParser whole;
  Http1ResponseParser bytewise;
  auto a = parse_all(whole, huge);
  auto b = parse_bytewise(bytewise, huge);
  expect_same(a, b);
  expect_same_stats(whole.stats(), bytewise.stats());
  ASSERT_EQ(a.size(), 1u);
}

TEST(Http1ResponseParser, BodyPrefixTruncated) {
  Http1ResponseParser parser;
  std::string body(Http1ResponseParser::kMaxBodyPrefix + 5000, 'b');
  auto responses = parse_all(parser, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                                         "\r\n\r\n" + body + json_response("{}"));
  ASSERT_EQ(responses.size(), 2u);
  EXPECT_EQ(responses[0].body_prefix.size(), Http1ResponseParser::kMaxBodyPrefix);
  EXPECT_TRUE(responses[0].body_truncated);
  EXPECT_FALSE(responses[1].body_truncated);
  EXPECT_EQ(parser.stats().bodies_truncated, 1u);
}

TEST(Http1ResponseParser, NonHttpDataCountsOneErrorAndResyncs) {
  Http1ResponseParser parser;
  std::vector<HttpResponse> responses;
  parser.feed("\x16\x03\x01 binary junk\nmore junk\nHTTP/2 200\n", responses);
  parser.feed("HTTP/1.1 2x0 nope\r\n" + json_response("{}"), responses);
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(parser.stats().parse_errors, 1u);
  EXPECT_EQ(parser.last_error(), "data is not an HTTP/1.x response");
}

TEST(Http1ResponseParser, MalformedHeaderLineResyncs) {
  Http1ResponseParser parser;
  auto responses = parse_all(parser, "HTTP/1.1 200 OK\r\nno colon here\r\nContent-Length: 2\r\n\r\nhi" +
                                         json_response("{}"));
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].body_prefix, "{}");
  EXPECT_EQ(parser.stats().parse_errors, 1u);
}

TEST(Http1ResponseParser, FalseStatusLineInBodyTextAfterGap) {
  Http1ResponseParser parser;
  std::vector<HttpResponse> responses;
  parser.feed("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n", responses);
  parser.gap(100);
  // The end of some body that mentions a status line, then the real next response on the following line.
  parser.feed("log: upstream said HTTP/1.1 502 Bad Gateway\n" + json_response("{}"), responses);
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].body_prefix, "{}");
}

TEST(Http1ResponseParser, InvalidContentLengthIsAnError) {
  Http1ResponseParser parser;
  auto responses = parse_all(parser, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!" +
                                         json_response("{}"));
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].body_prefix, "{}");
  EXPECT_EQ(parser.stats().parse_errors, 1u);
  EXPECT_EQ(parser.last_error(), "invalid content-length");
}

TEST(Http1ResponseParser, StrayLineEndsBetweenResponsesAreTolerated) {
  Http1ResponseParser parser;
  auto responses = parse_all(parser, "\r\n" + json_response("{}") + "\r\n\n" + json_response("[]"));
  ASSERT_EQ(responses.size(), 2u);
  EXPECT_EQ(parser.stats().parse_errors, 0u);
  EXPECT_EQ(parser.stats().bytes_skipped, 0u);
}

TEST(Http1ResponseParser, SwitchingProtocolsAndConnectTunnel) {
  Http1ResponseParser parser;
  parser.request_sent("GET");
  auto responses = parse_all(parser, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello" +
                                         json_response("{}"));
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].status, 101);
  EXPECT_GT(parser.stats().bytes_tunneled, 0u);
  parser.gap(10);  // still the other protocol
  parser.feed(json_response("{}"), responses);
  EXPECT_EQ(responses.size(), 1u);

  Http1ResponseParser proxy;
  proxy.request_sent("CONNECT");
  responses = parse_all(proxy, "HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x03");
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].request_method, "CONNECT");
  EXPECT_EQ(proxy.stats().bytes_tunneled, 3u);

  Http1ResponseParser refused;
  refused.request_sent("CONNECT");
  responses = parse_all(refused, "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 2\r\n\r\nno" +
                                     json_response("{}"));
  EXPECT_EQ(responses.size(), 2u);
}

TEST(Http1ResponseParser, EncodedBodiesAreFlagged) {
  Http1ResponseParser parser;
  auto responses = parse_all(
      parser, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\n\x1f\x8b\x08\x00"s +
                  "HTTP/1.1 200 OK\r\nContent-Encoding: identity\r\nContent-Length: 2\r\n\r\n{}");
  ASSERT_EQ(responses.size(), 2u);
  EXPECT_TRUE(responses[0].body_encoded);
  EXPECT_EQ(responses[0].body_prefix.size(), 4u);
  EXPECT_FALSE(responses[1].body_encoded);
}

TEST(Http1ResponseParser, RequestQueueIsBounded) {
  Http1ResponseParser parser;
  for (size_t i = 0; i < Http1ResponseParser::kMaxPendingRequests + 3; ++i) parser.request_sent("GET");
  EXPECT_EQ(parser.pending_requests(), Http1ResponseParser::kMaxPendingRequests);
  EXPECT_EQ(parser.stats().requests_dropped, 3u);
  parser.request_sent(std::string(100, 'M'));  // dropped too, but long methods are truncated when queued
}

TEST(Http1ResponseParser, ReasonPhraseOptional) {
  Http1ResponseParser parser;
  auto responses = parse_all(parser, "HTTP/1.1 401\r\nWWW-Authenticate: Bearer\r\nContent-Length: 0\r\n\r\n");
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].status, 401);
}

TEST(Http1ResponseParser, LooksLikeHttp1Response) {
  EXPECT_TRUE(Http1ResponseParser::looks_like_http1_response("HTTP/1.1 200 OK\r\n"));
  EXPECT_TRUE(Http1ResponseParser::looks_like_http1_response("HTTP/1.0 404"));
  EXPECT_TRUE(Http1ResponseParser::looks_like_http1_response("HTTP/1.1 200\r\nServer: x\r\n"));
  EXPECT_TRUE(Http1ResponseParser::looks_like_http1_response("HTTP/1.1 500 Internal"));
  EXPECT_FALSE(Http1ResponseParser::looks_like_http1_response("HTTP/1.1 20"));
  EXPECT_FALSE(Http1ResponseParser::looks_like_http1_response("HTTP/2 200 OK\r\n"));
  EXPECT_FALSE(Http1ResponseParser::looks_like_http1_response("HTTP/1.1 2000 OK\r\n"));
  EXPECT_FALSE(Http1ResponseParser::looks_like_http1_response("GET / HTTP/1.1\r\n"));
  EXPECT_FALSE(Http1ResponseParser::looks_like_http1_response(""));
}

TEST(Http1ResponseParser, CleanseWipesValuesAndBody) {
  Http1ResponseParser parser;
  auto responses = parse_all(parser, "HTTP/1.1 200 OK\r\nSet-Cookie: session=" + fake::generic_secret() +
                                         "\r\nContent-Length: 2\r\n\r\n{}");
  ASSERT_EQ(responses.size(), 1u);
  cleanse(responses[0]);
  EXPECT_TRUE(responses[0].headers.empty());
  EXPECT_TRUE(responses[0].body_prefix.empty());
}

}  // namespace
}  // namespace credtrace::protocols
