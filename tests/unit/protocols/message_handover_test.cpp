// Tests of handing parsed HTTP messages to a sink: the thread's reused storage (batches, header vectors, bodies)
// never carries one message's fields or secrets into the next, across parsers and directions, and a sink that feeds
// another parser while it is handed a message gets its messages intact.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "fake_secrets.h"
#include "protocols/http1/header_fields.h"
#include "protocols/http1/request_parser.h"
#include "protocols/http1/response_parser.h"
#include "protocols/text.h"

namespace credtrace::protocols {
namespace {

using testing::github_pat;

// What a sink saw of one request, copied during the call (the message is wiped when the call returns).
struct SeenRequest {
  std::string method, path;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct SeenResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

class RecordingSink : public MessageSink {
 public:
  void on_request(HttpRequest& request, std::string_view) override {
    SeenRequest seen{request.method, request.path, {}, request.body_prefix};
    for (const HttpHeader& header : request.headers) seen.headers.emplace_back(header.name, header.value);
    requests.push_back(std::move(seen));
  }
  void on_response(HttpResponse& response) override {
    SeenResponse seen{response.status, {}, response.body_prefix};
    for (const HttpHeader& header : response.headers) seen.headers.emplace_back(header.name, header.value);
    responses.push_back(std::move(seen));
  }
  std::vector<SeenRequest> requests;
  std::vector<SeenResponse> responses;
};

std::string post(const std::string& token, const std::string& body) {
  return "POST /v1/search HTTP/1.1\r\nHost: api.example.com\r\nAuthorization: Bearer " + token +
         "\r\nX-Trace-Header: a-value-longer-than-fifteen\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

const std::string kBareGet = "GET /health HTTP/1.1\r\nHost: h\r\n\r\n";

std::string ok(const std::string& body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

// The storage a later message reuses holds none of the bytes of the message that left it.
void expect_spares_hold_no(const std::string& secret) {
  const std::string& body = detail::spare_body_storage();
  EXPECT_TRUE(body.empty());
  EXPECT_EQ(std::string_view(body.data(), body.capacity()).find(secret), std::string_view::npos);
  const std::vector<HttpHeader>& headers = detail::spare_header_storage();
  EXPECT_TRUE(headers.empty());
  const std::string_view raw(reinterpret_cast<const char*>(headers.data()), headers.capacity() * sizeof(HttpHeader));
  EXPECT_EQ(raw.find(secret.substr(0, 12)), std::string_view::npos);  // short values live inside the vector (SSO)
  for (const std::string& kept : http1::kept_value_storage()) {  // header values' heap buffers
    EXPECT_TRUE(kept.empty());
    EXPECT_EQ(std::string_view(kept.data(), kept.capacity()).find(secret.substr(0, 12)), std::string_view::npos);
  }
}

TEST(MessageHandover, ANextRequestOnAnotherParserStartsEmpty) {
  const std::string token = github_pat();
  const std::string body = "{\"query\":\"" + std::string(300, 'q') + "\",\"key\":\"" + token + "\"}";
  Http1RequestParser first, second;
  RecordingSink sink;
  first.feed(post(token, body), sink);
  second.feed(kBareGet, sink);
  ASSERT_EQ(sink.requests.size(), 2u);
  EXPECT_EQ(sink.requests[0].body, body);
  ASSERT_EQ(sink.requests[0].headers.size(), 4u);
  EXPECT_EQ(sink.requests[0].headers[1].second, "Bearer " + token);
  EXPECT_EQ(sink.requests[1].method, "GET");
  EXPECT_EQ(sink.requests[1].path, "/health");
  ASSERT_EQ(sink.requests[1].headers.size(), 1u);  // only its own Host: nothing of the first request
  EXPECT_EQ(sink.requests[1].headers[0].first, "host");
  EXPECT_EQ(sink.requests[1].body, "");
}

TEST(MessageHandover, ReusedStorageHoldsNoSecretOfTheMessageThatLeftIt) {
  const std::string token = github_pat();
  const std::string short_secret = "s3cr3tValue12";  // 13 bytes: kept inside the header object (no heap string)
  Http1RequestParser parser;
  RecordingSink sink;
  parser.feed("GET /a HTTP/1.1\r\nHost: h\r\nX-Short: " + short_secret + "\r\n\r\n", sink);
  expect_spares_hold_no(short_secret);
  parser.feed(post(token, "{\"token\":\"" + token + "\"}"), sink);
  expect_spares_hold_no(token);
  Http1ResponseParser responses;
  responses.feed(ok("{\"access_token\":\"" + token + "\"}"), sink);
  expect_spares_hold_no(token);
  ASSERT_EQ(sink.requests.size(), 2u);
  ASSERT_EQ(sink.responses.size(), 1u);
  EXPECT_EQ(sink.responses[0].body, "{\"access_token\":\"" + token + "\"}");
}

TEST(MessageHandover, RequestsAndResponsesAlternatingKeepTheirOwnFields) {
  Http1RequestParser requests;
  Http1ResponseParser responses;
  RecordingSink sink;
  for (int i = 0; i < 50; ++i) {
    const std::string token = github_pat();
    const std::string body = "{\"n\":" + std::to_string(i) + ",\"pad\":\"" + std::string(static_cast<size_t>(i * 37), 'p') + "\"}";
    requests.feed(i % 3 == 0 ? kBareGet : post(token, body), sink);
    responses.feed(ok("{\"answer\":" + std::to_string(i) + "}"), sink);
    ASSERT_EQ(sink.requests.size(), static_cast<size_t>(i + 1));
    ASSERT_EQ(sink.responses.size(), static_cast<size_t>(i + 1));
    const SeenRequest& request = sink.requests.back();
    if (i % 3 == 0) {
      EXPECT_EQ(request.headers.size(), 1u);
      EXPECT_EQ(request.body, "");
    } else {
      ASSERT_EQ(request.headers.size(), 4u);
      EXPECT_EQ(request.headers[1].second, "Bearer " + token);
      EXPECT_EQ(request.body, body);
    }
    const SeenResponse& response = sink.responses.back();
    EXPECT_EQ(response.status, 200);
    ASSERT_EQ(response.headers.size(), 2u);
    EXPECT_EQ(response.headers[0].first, "content-type");
    EXPECT_EQ(response.body, "{\"answer\":" + std::to_string(i) + "}");
  }
}

// A sink that, handed a request, feeds a second parser (as a sink that parsed an embedded stream would): the nested
// hand-over must not use the batch the outer one is still walking.
class NestingSink : public MessageSink {
 public:
  void on_request(HttpRequest& request, std::string_view) override {
    outer_paths.push_back(request.path);
    if (nested_feeds++ == 0) inner_parser.feed(kBareGet + kBareGet, inner);
    outer_paths_after_nested.push_back(request.path);  // the outer message is intact after the nested hand-over
  }
  Http1RequestParser inner_parser;
  RecordingSink inner;
  std::vector<std::string> outer_paths, outer_paths_after_nested;
  int nested_feeds = 0;
};

TEST(MessageHandover, ASinkFeedingAnotherParserGetsBothIntact) {
  Http1RequestParser outer;
  NestingSink sink;
  outer.feed("GET /one HTTP/1.1\r\nHost: h\r\n\r\nGET /two HTTP/1.1\r\nHost: h\r\n\r\nGET /three HTTP/1.1\r\nHost: h\r\n\r\n",
             sink);
  EXPECT_EQ(sink.outer_paths, (std::vector<std::string>{"/one", "/two", "/three"}));
  EXPECT_EQ(sink.outer_paths_after_nested, sink.outer_paths);
  ASSERT_EQ(sink.inner.requests.size(), 2u);
  EXPECT_EQ(sink.inner.requests[0].path, "/health");
  EXPECT_EQ(sink.inner.requests[1].path, "/health");
}

TEST(MessageHandover, APipelinedBurstIsHandedOverWhole) {
  std::string burst;
  for (int i = 0; i < 40; ++i) burst += "GET /r" + std::to_string(i) + " HTTP/1.1\r\nHost: h\r\n\r\n";
  Http1RequestParser parser;
  RecordingSink sink;
  parser.feed(burst, sink);
  ASSERT_EQ(sink.requests.size(), 40u);
  for (int i = 0; i < 40; ++i) EXPECT_EQ(sink.requests[static_cast<size_t>(i)].path, "/r" + std::to_string(i));
  parser.feed(kBareGet, sink);  // after a burst's storage was given back
  ASSERT_EQ(sink.requests.size(), 41u);
  EXPECT_EQ(sink.requests.back().path, "/health");
}

// A header value buffer kept from a handed-over message serves a later value: the later message sees only its own
// value, of any length, and the buffer it gave back holds none of the first message's secret.
TEST(MessageHandover, KeptHeaderValueBuffersServeLaterValuesWithoutTheirBytes) {
  const std::string token = github_pat();
  Http1RequestParser parser;
  RecordingSink sink;
  parser.feed(post(token, "{}"), sink);
  ASSERT_FALSE(http1::kept_value_storage().empty());  // "Bearer ghp_…" needed the heap
  expect_spares_hold_no(token);
  const std::string shorter = "Bearer short-but-heap-v";  // shorter than the token's value: reuses its buffer
  const std::string longer(600, 'L');
  parser.feed("GET /b HTTP/1.1\r\nAuthorization: " + shorter + "\r\nX-Long: " + longer + "\r\n\r\n", sink);
  ASSERT_EQ(sink.requests.size(), 2u);
  ASSERT_EQ(sink.requests[1].headers.size(), 2u);
  EXPECT_EQ(sink.requests[1].headers[0].second, shorter);
  EXPECT_EQ(sink.requests[1].headers[1].second, longer);
  expect_spares_hold_no(token);
  expect_spares_hold_no(longer);
  EXPECT_LE(http1::kept_value_storage().size(), 32u);
}

// Lower-casing eight bytes at a time agrees with the byte-wise rule for every byte value at every position.
TEST(MessageHandover, HeaderNamesLowerCasedLikeByteByByte) {
  for (size_t length = 0; length <= 24; ++length) {
    for (int value = 0; value < 256; ++value) {
      for (size_t at = 0; at < length; at += 3) {
        std::string name(length, 'Q');
        name[at] = static_cast<char>(value);
        std::string expected = name;
        for (char& c : expected) c = detail::ascii_lower(c);
        detail::lower_in_place(name);
        ASSERT_EQ(name, expected) << "length " << length << " byte " << value << " at " << at;
      }
    }
  }
}

}  // namespace
}  // namespace credtrace::protocols
