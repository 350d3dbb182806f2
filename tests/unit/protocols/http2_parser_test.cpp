// Tests of the HTTP/2 request parser on client byte streams built with nghttp2's HPACK deflater, and of its wiping allocator.
#include "protocols/http2/request_parser.h"
#include "protocols/limit_hits.h"

#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "fake_secrets.h"
#include "protocols/credentials.h"
#include "protocols/http2/wiping_allocator.h"

namespace credtrace::protocols {
namespace {

namespace fake = testing;

using Fields = std::vector<std::pair<std::string, std::string>>;

constexpr uint8_t kData = 0x0, kHeaders = 0x1, kPriority = 0x2, kRstStream = 0x3, kSettings = 0x4, kPing = 0x6,
                  kGoaway = 0x7, kWindowUpdate = 0x8, kContinuation = 0x9;
constexpr uint8_t kEndStream = 0x1, kEndHeaders = 0x4, kPadded = 0x8, kPriorityFlag = 0x20;

struct DeflaterDeleter {
  void operator()(nghttp2_hd_deflater* deflater) const { nghttp2_hd_deflate_del(deflater); }
};

// One client connection's HPACK encoder: later blocks reuse its dynamic table.
class Encoder {
 public:
  // indexing=false: every field is sent never-indexed, so the deflater's dynamic table stays empty.
  explicit Encoder(bool indexing = true) : flags_(indexing ? NGHTTP2_NV_FLAG_NONE : NGHTTP2_NV_FLAG_NO_INDEX) {
    nghttp2_hd_deflater* raw = nullptr;
    EXPECT_EQ(nghttp2_hd_deflate_new(&raw, 4096), 0);
    deflater_.reset(raw);
  }

  std::string block(const Fields& fields) {
    std::vector<nghttp2_nv> nva;
    for (const auto& [name, value] : fields) {
      nva.push_back(nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                               reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(),
                               value.size(), flags_});
    }
    std::string out(nghttp2_hd_deflate_bound(deflater_.get(), nva.data(), nva.size()), '\0');
    ssize_t written = nghttp2_hd_deflate_hd(deflater_.get(), reinterpret_cast<uint8_t*>(out.data()), out.size(),
                                            nva.data(), nva.size());
    EXPECT_GE(written, 0);
    out.resize(written < 0 ? 0 : static_cast<size_t>(written));
    return out;
  }

 private:
  uint8_t flags_;
  std::unique_ptr<nghttp2_hd_deflater, DeflaterDeleter> deflater_;
};

// RFC 7541 5.1 integer with an N-bit prefix; `first` holds the representation's leading bits.
std::string hpack_int(uint8_t first, int prefix_bits, size_t value) {
  size_t limit = (size_t{1} << prefix_bits) - 1;
  if (value < limit) return std::string(1, static_cast<char>(first | value));
  std::string out(1, static_cast<char>(first | limit));
  for (value -= limit; value >= 128; value >>= 7) out.push_back(static_cast<char>(0x80 | (value & 0x7f)));
  out.push_back(static_cast<char>(value));
  return out;
}

// Literal field with incremental indexing, name from the static table (6.2.1): the decoder adds it to its table.
std::string literal_indexed(size_t name_index, std::string_view value) {
  return hpack_int(0x40, 6, name_index) + hpack_int(0x00, 7, value.size()) + std::string(value);
}

// Indexed field (6.1): 1..61 static table, 62.. dynamic table (62 = newest entry).
std::string indexed(size_t index) { return hpack_int(0x80, 7, index); }

constexpr size_t kStaticAuthorization = 23;
constexpr size_t kNewestDynamicEntry = 62;

std::string frame(uint8_t type, uint8_t flags, uint32_t stream, std::string_view payload) {
  std::string out;
  uint32_t length = static_cast<uint32_t>(payload.size());
  out.push_back(static_cast<char>(length >> 16));
  out.push_back(static_cast<char>(length >> 8));
  out.push_back(static_cast<char>(length));
  out.push_back(static_cast<char>(type));
  out.push_back(static_cast<char>(flags));
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((stream >> shift) & 0xff));
  out.append(payload);
  return out;
}

std::string preface_and_settings() {
  std::string settings("\x00\x03\x00\x00\x00\x64\x00\x04\x00\x01\x00\x00", 12);  // MAX_CONCURRENT, WINDOW
  return std::string(Http2RequestParser::kPreface) + frame(kSettings, 0, 0, settings);
}

Fields get_fields(const std::string& path, const std::string& token) {
  return {{":method", "GET"},
          {":scheme", "https"},
          {":authority", "api.example.test"},
          {":path", path},
          {"authorization", "Bearer " + token},
          {"user-agent", "credtrace-test/1.0"}};
}

Fields pseudo_fields(const std::string& path) {
  return {{":method", "GET"}, {":scheme", "https"}, {":authority", "api.example.test"}, {":path", path}};
}

struct Parsed {
  std::vector<HttpRequest> requests;
  std::vector<std::string> raw_queries;
};

Parsed parse(Http2RequestParser& parser, std::string_view bytes) {
  Parsed parsed;
  parser.feed(bytes, parsed.requests, parsed.raw_queries);
  return parsed;
}

Parsed parse(std::string_view bytes) {
  Http2RequestParser parser;
  Parsed parsed = parse(parser, bytes);
  EXPECT_FALSE(parser.broken());
  return parsed;
}

const HttpHeader* header(const HttpRequest& request, std::string_view name) {
  for (const HttpHeader& h : request.headers) {
    if (h.name == name) return &h;
  }
  return nullptr;
}

void expect_same(const Parsed& a, const Parsed& b) {
  ASSERT_EQ(a.requests.size(), b.requests.size());
  EXPECT_EQ(a.raw_queries, b.raw_queries);
  for (size_t i = 0; i < a.requests.size(); ++i) {
    EXPECT_EQ(a.requests[i].method, b.requests[i].method);
    EXPECT_EQ(a.requests[i].path, b.requests[i].path);
    EXPECT_EQ(a.requests[i].host, b.requests[i].host);
    ASSERT_EQ(a.requests[i].headers.size(), b.requests[i].headers.size());
    for (size_t j = 0; j < a.requests[i].headers.size(); ++j) {
      EXPECT_EQ(a.requests[i].headers[j].name, b.requests[i].headers[j].name);
      EXPECT_EQ(a.requests[i].headers[j].value, b.requests[i].headers[j].value);
    }
  }
}

// A connection with two requests on streams 1 and 3. nghttp2's deflater never indexes authorization, so the
// test encodes it by hand as other clients do: a literal with incremental indexing on stream 1, then the
// indexed dynamic-table entry (62) on stream 3. The deflater sends everything else never-indexed.
struct TwoRequests {
  std::string token = fake::github_pat();
  std::string query_secret = fake::generic_secret(32);
  std::string block1;
  std::string block2;
  std::string bytes;

  TwoRequests() {
    Encoder encoder(false);
    block1 = encoder.block(pseudo_fields("/repos?token=" + query_secret + "&page=2")) +
             literal_indexed(kStaticAuthorization, "Bearer " + token) +
             encoder.block({{"user-agent", "credtrace-test/1.0"}});
    block2 = encoder.block(pseudo_fields("/user")) + indexed(kNewestDynamicEntry) +
             encoder.block({{"user-agent", "credtrace-test/1.0"}});
    bytes = preface_and_settings() + frame(kHeaders, kEndHeaders | kEndStream, 1, block1) +
            frame(kWindowUpdate, 0, 0, std::string("\x00\x01\x00\x00", 4)) +
            frame(kHeaders, kEndHeaders | kEndStream, 3, block2);
  }
};

TEST(Http2Parser, FirstRequest) {
  TwoRequests conn;
  Http2RequestParser parser;
  Parsed parsed = parse(parser, conn.bytes);
  ASSERT_EQ(parsed.requests.size(), 2u);
  const HttpRequest& request = parsed.requests[0];
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.path, "/repos?token=&page=");
  EXPECT_EQ(request.raw_target_query_keys_only, "token=&page=");
  EXPECT_EQ(request.host, "api.example.test");
  EXPECT_EQ(parsed.raw_queries[0], "token=" + conn.query_secret + "&page=2");
  ASSERT_EQ(request.headers.size(), 2u);  // no pseudo-headers
  EXPECT_EQ(request.headers[0].name, "authorization");
  EXPECT_EQ(request.headers[0].value, "Bearer " + conn.token);
  EXPECT_EQ(request.headers[1].name, "user-agent");
  EXPECT_TRUE(request.body_prefix.empty());
  EXPECT_EQ(parser.stats().requests, 2u);
  EXPECT_EQ(parser.stats().frames, 4u);
  EXPECT_EQ(parser.stats().hpack_errors + parser.stats().frame_errors + parser.stats().bytes_skipped, 0u);
}

TEST(Http2Parser, DynamicTableEntryDecodes) {
  TwoRequests conn;
  EXPECT_EQ(conn.block2.find(conn.token), std::string::npos);  // only the table index travels
  Parsed parsed = parse(conn.bytes);
  ASSERT_EQ(parsed.requests.size(), 2u);
  const HttpRequest& second = parsed.requests[1];
  EXPECT_EQ(second.path, "/user");
  EXPECT_EQ(second.host, "api.example.test");
  EXPECT_EQ(parsed.raw_queries[1], "");
  ASSERT_NE(header(second, "authorization"), nullptr);
  EXPECT_EQ(header(second, "authorization")->value, "Bearer " + conn.token);

  // Without the first block's table entries the second block cannot decode: an HPACK error breaks the connection.
  Http2RequestParser fresh;
  Parsed alone = parse(fresh, preface_and_settings() + frame(kHeaders, kEndHeaders, 3, conn.block2));
  EXPECT_TRUE(alone.requests.empty());
  EXPECT_TRUE(fresh.broken());
  EXPECT_EQ(fresh.stats().hpack_errors, 1u);
}

TEST(Http2Parser, DeflaterDynamicTableReused) {
  Encoder encoder;  // nghttp2 indexes x-api-key and :authority; the second block only references them
  std::string key = fake::generic_secret(40);
  Fields fields = pseudo_fields("/v1/models");
  fields.emplace_back("x-api-key", key);
  std::string block1 = encoder.block(fields);
  std::string block2 = encoder.block(fields);
  EXPECT_LT(block2.size(), key.size());
  Parsed parsed = parse(preface_and_settings() + frame(kHeaders, kEndHeaders, 1, block1) +
                        frame(kHeaders, kEndHeaders, 3, block2));
  ASSERT_EQ(parsed.requests.size(), 2u);
  ASSERT_NE(header(parsed.requests[1], "x-api-key"), nullptr);
  EXPECT_EQ(header(parsed.requests[1], "x-api-key")->value, key);
  EXPECT_EQ(parsed.requests[1].host, "api.example.test");
}

TEST(Http2Parser, HeadersAndContinuation) {
  TwoRequests conn;
  std::string_view block = conn.block1;
  size_t third = block.size() / 3;
  std::string bytes = preface_and_settings() + frame(kHeaders, kEndStream, 1, block.substr(0, third)) +
                      frame(kContinuation, 0, 1, block.substr(third, third)) +
                      frame(kContinuation, kEndHeaders, 1, block.substr(2 * third));
  Parsed split = parse(bytes);
  Parsed whole = parse(preface_and_settings() + frame(kHeaders, kEndHeaders | kEndStream, 1, conn.block1));
  ASSERT_EQ(split.requests.size(), 1u);
  expect_same(split, whole);
}

TEST(Http2Parser, PaddedAndPriorityFlags) {
  TwoRequests conn;
  std::string payload = std::string(1, '\x07') + std::string("\x80\x00\x00\x00\x10", 5) + conn.block1 +
                        std::string(7, '\0');
  Parsed flagged = parse(preface_and_settings() + frame(kHeaders, kEndHeaders | kPadded | kPriorityFlag, 1, payload));
  Parsed plain = parse(preface_and_settings() + frame(kHeaders, kEndHeaders, 1, conn.block1));
  ASSERT_EQ(flagged.requests.size(), 1u);
  expect_same(flagged, plain);

  std::string padded_only = std::string(1, '\x02') + conn.block1 + std::string(2, '\0');
  expect_same(parse(preface_and_settings() + frame(kHeaders, kEndHeaders | kPadded, 1, padded_only)), plain);
}

TEST(Http2Parser, ControlAndDataFramesSkipped) {
  Encoder encoder;
  std::string token = fake::github_pat();
  std::string post = encoder.block({{":method", "POST"},
                                    {":scheme", "https"},
                                    {":authority", "api.example.test"},
                                    {":path", "/graphql"},
                                    {"authorization", "token " + token},
                                    {"content-type", "application/json"}});
  std::string body = R"({"query":"{ viewer { login } }","client_secret":")" + fake::generic_secret(32) + "\"}";
  std::string bytes = preface_and_settings() + frame(kHeaders, kEndHeaders, 1, post) +
                      frame(kData, 0, 1, body) + frame(kData, kPadded | kEndStream, 1, std::string("\x03xyz\0\0\0", 7)) +
                      frame(kPing, 0, 0, std::string(8, '\x01')) +
                      frame(kPriority, 0, 3, std::string("\x00\x00\x00\x01\x10", 5)) +
                      frame(kRstStream, 0, 1, std::string("\x00\x00\x00\x08", 4)) +
                      frame(kData, kEndStream, 5, std::string(70000, 'd')) + frame(0x42, 0, 0, "unknown extension") +
                      frame(kSettings, 0x1, 0, "") +
                      frame(kHeaders, kEndHeaders | kEndStream, 7, encoder.block(get_fields("/next", token))) +
                      frame(kGoaway, 0, 0, std::string("\x00\x00\x00\x07\x00\x00\x00\x00", 8));
  Http2RequestParser parser;
  Parsed parsed = parse(parser, bytes);
  EXPECT_FALSE(parser.broken());
  ASSERT_EQ(parsed.requests.size(), 2u);
  EXPECT_EQ(parsed.requests[0].method, "POST");
  EXPECT_EQ(parsed.requests[0].path, "/graphql");
  EXPECT_TRUE(parsed.requests[0].body_prefix.empty());
  EXPECT_EQ(parsed.requests[1].path, "/next");
  EXPECT_EQ(parser.stats().frames, 12u);
}

TEST(Http2Parser, ByteByByteAndChunksMatchWhole) {
  TwoRequests conn;
  std::string bytes = conn.bytes + frame(kData, kEndStream, 5, std::string(300, 'x'));
  std::string_view block = conn.block1;
  bytes += frame(kHeaders, kPadded, 9, std::string(1, '\x01') + std::string(block.substr(0, 5)) + '\0') +
           frame(kContinuation, kEndHeaders, 9, block.substr(5));
  Http2RequestParser whole_parser;
  Parsed whole = parse(whole_parser, bytes);
  ASSERT_EQ(whole.requests.size(), 3u);

  Http2RequestParser byte_parser;
  Parsed bytewise;
  for (char c : bytes) byte_parser.feed(std::string_view(&c, 1), bytewise.requests, bytewise.raw_queries);
  expect_same(whole, bytewise);
  EXPECT_EQ(byte_parser.stats().frames, whole_parser.stats().frames);
  EXPECT_FALSE(byte_parser.broken());

  for (size_t chunk : {2u, 7u, 9u, 10u, 33u}) {
    Http2RequestParser parser;
    Parsed chunked;
    for (size_t i = 0; i < bytes.size(); i += chunk) {
      parser.feed(std::string_view(bytes).substr(i, chunk), chunked.requests, chunked.raw_queries);
    }
    expect_same(whole, chunked);
  }
}

TEST(Http2Parser, CredentialsInParsedRequest) {
  TwoRequests conn;
  Parsed parsed = parse(conn.bytes);
  ASSERT_EQ(parsed.requests.size(), 2u);
  std::vector<CarriedCredential> found = credentials_in_request(parsed.requests[0], parsed.raw_queries[0]);
  bool bearer = false, query = false;
  for (const CarriedCredential& credential : found) {
    if (credential.carrier == "header:authorization" && credential.value == conn.token) {
      bearer = true;
      EXPECT_EQ(credential.type, "github_pat");
      EXPECT_EQ(credential.scheme, "Bearer");
    }
    if (credential.carrier == "query:token" && credential.value == conn.query_secret) query = true;
  }
  EXPECT_TRUE(bearer);
  EXPECT_TRUE(query);
  cleanse(found);
  found = credentials_in_request(parsed.requests[1], parsed.raw_queries[1]);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].value, conn.token);
  cleanse(found);
  for (HttpRequest& request : parsed.requests) cleanse(request);
}

TEST(Http2Parser, HostFallbackAndTrailers) {
  Encoder encoder;
  std::string bytes = preface_and_settings() +
                      frame(kHeaders, kEndHeaders, 1,
                            encoder.block({{":method", "PUT"}, {":scheme", "https"}, {":path", "/a?x=1"},
                                           {"host", "API.Example.Test"}, {"X-Api-Key", "k"}})) +
                      frame(kHeaders, kEndHeaders | kEndStream, 1, encoder.block({{"x-trailer", "done"}}));
  Http2RequestParser parser;
  Parsed parsed = parse(parser, bytes);
  EXPECT_FALSE(parser.broken());
  ASSERT_EQ(parsed.requests.size(), 1u);  // the trailer block carries no :method
  EXPECT_EQ(parsed.requests[0].host, "api.example.test");
  EXPECT_EQ(parsed.requests[0].path, "/a?x=");
  EXPECT_EQ(parsed.raw_queries[0], "x=1");
  ASSERT_NE(header(parsed.requests[0], "x-api-key"), nullptr);
  EXPECT_EQ(parser.stats().requests, 1u);
}

TEST(Http2Parser, GarbagePrefaceBreaks) {
  Http2RequestParser parser;
  Parsed parsed = parse(parser, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_TRUE(parsed.requests.empty());
  EXPECT_TRUE(parser.broken());
  EXPECT_EQ(parser.stats().frame_errors, 1u);
  TwoRequests conn;
  parsed = parse(parser, conn.bytes);  // ignored, never guessed over
  EXPECT_TRUE(parsed.requests.empty());
  EXPECT_GE(parser.stats().bytes_skipped, conn.bytes.size());

  Http2RequestParser late;  // mismatch after a matching prefix, fed byte by byte
  std::string bad = "PRI * HTTP/2.0\r\n\r\nXX";
  std::vector<HttpRequest> out;
  std::vector<std::string> queries;
  for (char c : bad) late.feed(std::string_view(&c, 1), out, queries);
  EXPECT_TRUE(late.broken());
  EXPECT_EQ(late.stats().frame_errors, 1u);
}

TEST(Http2Parser, StartsWithPreface) {
  EXPECT_TRUE(Http2RequestParser::starts_with_preface("PRI"));
  EXPECT_TRUE(Http2RequestParser::starts_with_preface("PRI * HTTP/2.0\r\n"));
  EXPECT_TRUE(Http2RequestParser::starts_with_preface(preface_and_settings()));
  EXPECT_FALSE(Http2RequestParser::starts_with_preface("PR"));
  EXPECT_FALSE(Http2RequestParser::starts_with_preface("GET / HTTP/1.1\r\n"));
  EXPECT_FALSE(Http2RequestParser::starts_with_preface("PRI * HTTP/1.1\r\n"));
}

TEST(Http2Parser, GapBreaks) {
  TwoRequests conn;
  Http2RequestParser parser;
  Parsed parsed = parse(parser, conn.bytes.substr(0, conn.bytes.size() - 3));
  EXPECT_EQ(parsed.requests.size(), 1u);
  parser.gap(0);
  EXPECT_FALSE(parser.broken());
  parser.gap(120);
  EXPECT_TRUE(parser.broken());
  EXPECT_EQ(parser.stats().gaps, 1u);
  EXPECT_GT(parser.stats().bytes_skipped, 0u);  // the partial HEADERS payload was dropped
  parsed = parse(parser, conn.bytes.substr(conn.bytes.size() - 3));
  EXPECT_TRUE(parsed.requests.empty());
}

// A header block over kMaxHeaderBlock whose decoded list stays under kMaxHeaderList until the block limit is passed
// (five literal fields of 60,000 bytes: the fifth is unfinished at 256 KiB), in a HEADERS and CONTINUATIONs of the
// default frame size: only the block's byte limit stops it.
std::string over_block_limit_frames() {
  std::string block;
  for (int i = 0; i < 5; ++i)  // literal, new name "x", not indexed
    block += std::string(1, '\0') + hpack_int(0x00, 7, 1) + "x" + hpack_int(0x00, 7, 60000) + std::string(60000, 'a');
  std::string out;
  for (size_t at = 0; at < block.size(); at += 16384)
    out += frame(at == 0 ? kHeaders : kContinuation, at + 16384 >= block.size() ? kEndHeaders : 0, 1,
                 std::string_view(block).substr(at, 16384));
  return out;
}

TEST(Http2Parser, FramingViolationsBreak) {
  TwoRequests conn;
  std::string start = preface_and_settings();
  std::vector<std::string> cases = {
      start + frame(kContinuation, kEndHeaders, 1, conn.block1),                            // no open block
      start + frame(kHeaders, 0, 1, conn.block1) + frame(kData, 0, 1, "x"),                 // interleaved
      start + frame(kHeaders, 0, 1, conn.block1) + frame(kContinuation, kEndHeaders, 3, ""),  // other stream
      start + frame(kHeaders, kEndHeaders, 0, conn.block1),                                 // stream 0
      start + frame(kHeaders, kEndHeaders | kPadded, 1, std::string(1, '\xff') + "ab"),     // padding too long
      start + frame(0x5, kEndHeaders, 1, conn.block1),                                      // PUSH_PROMISE
      start + frame(kHeaders, 0, 1, std::string(Http2RequestParser::kMaxHeaderBlock, 'a')) +
          frame(kContinuation, kEndHeaders, 1, "a"),  // decoded header list too large
      start + over_block_limit_frames(),  // header block too large
  };
  const uint64_t blocks_before = limit_hits().http2_header_blocks.load();
  for (size_t i = 0; i < cases.size(); ++i) {
    Http2RequestParser parser;
    Parsed parsed = parse(parser, cases[i]);
    EXPECT_TRUE(parsed.requests.empty()) << i;
    EXPECT_TRUE(parser.broken()) << i;
    EXPECT_EQ(parser.stats().frame_errors, 1u) << i;
  }
  EXPECT_EQ(limit_hits().http2_header_blocks.load() - blocks_before, 1u);  // agent_health's counter: the last case
}

// A flood of tiny headers (one byte each: the static table's ":method: GET") hits the decoded-list limit long before
// the block's byte limit: the connection is given up and the hit counted for agent_health.
TEST(Http2Parser, TinyHeaderFloodHitsTheListLimitAndIsCounted) {
  std::string block;
  for (int i = 0; i < 200000; ++i) block += indexed(2);  // 200 KB, under kMaxHeaderBlock; decodes to ~8 MB
  ASSERT_LT(block.size(), Http2RequestParser::kMaxHeaderBlock);
  const uint64_t lists_before = limit_hits().http2_header_lists.load();
  Http2RequestParser parser;
  std::string wire = preface_and_settings();
  for (size_t at = 0; at < block.size(); at += 16384) {  // HEADERS, then CONTINUATIONs of the default frame size
    const bool last = at + 16384 >= block.size();
    wire += frame(at == 0 ? kHeaders : kContinuation, last ? kEndHeaders : 0, 1, std::string_view(block).substr(at, 16384));
  }
  Parsed parsed = parse(parser, wire);
  EXPECT_TRUE(parsed.requests.empty());
  EXPECT_TRUE(parser.broken());
  EXPECT_EQ(limit_hits().http2_header_lists.load() - lists_before, 1u);
}

TEST(Http2Parser, HpackExpansionBombBreaks) {
  std::string bomb = literal_indexed(kStaticAuthorization, std::string(4000, 'a'));
  for (int i = 0; i < 100; ++i) bomb += indexed(kNewestDynamicEntry);  // ~400 KB decoded from ~4 KB
  Http2RequestParser parser;
  const uint64_t lists_before = limit_hits().http2_header_lists.load();
  Parsed parsed = parse(parser, preface_and_settings() + frame(kHeaders, kEndHeaders, 1, bomb));
  EXPECT_TRUE(parsed.requests.empty());
  EXPECT_TRUE(parser.broken());
  EXPECT_EQ(parser.stats().frame_errors, 1u);
  EXPECT_EQ(limit_hits().http2_header_lists.load() - lists_before, 1u);
}

TEST(Http2Parser, HpackGarbageBreaks) {
  Http2RequestParser parser;
  Parsed parsed = parse(parser, preface_and_settings() + frame(kHeaders, kEndHeaders, 1, "\xff\xff\xff\xff\xff\xff"));
  EXPECT_TRUE(parsed.requests.empty());
  EXPECT_TRUE(parser.broken());
  EXPECT_EQ(parser.stats().hpack_errors, 1u);
}

}  // namespace
}  // namespace credtrace::protocols

namespace credtrace::protocols {
namespace {

// The HPACK inflater's allocator: blocks behave as malloc's (contents kept across realloc, calloc zeroed); what it
// frees is wiped first (not observable after free; the parser tests above run every table entry through it).
TEST(Http2WipingAllocator, BehavesAsMallocForTheInflater) {
  nghttp2_mem* mem = http2::wiping_allocator();
  auto* block = static_cast<char*>(mem->malloc(16, mem->mem_user_data));
  ASSERT_NE(block, nullptr);
  std::memcpy(block, "ghp_fakeTOKEN123", 16);
  auto* grown = static_cast<char*>(mem->realloc(block, 4096, mem->mem_user_data));
  ASSERT_NE(grown, nullptr);
  EXPECT_EQ(std::string(grown, 16), "ghp_fakeTOKEN123");
  auto* shrunk = static_cast<char*>(mem->realloc(grown, 8, mem->mem_user_data));
  ASSERT_NE(shrunk, nullptr);
  EXPECT_EQ(std::string(shrunk, 8), "ghp_fake");
  EXPECT_EQ(mem->realloc(shrunk, 0, mem->mem_user_data), nullptr);  // size 0 frees
  auto* zeroed = static_cast<unsigned char*>(mem->calloc(4, 32, mem->mem_user_data));
  ASSERT_NE(zeroed, nullptr);
  EXPECT_TRUE(std::all_of(zeroed, zeroed + 128, [](unsigned char c) { return c == 0; }));
  mem->free(zeroed, mem->mem_user_data);
  mem->free(nullptr, mem->mem_user_data);
}

}  // namespace
}  // namespace credtrace::protocols
