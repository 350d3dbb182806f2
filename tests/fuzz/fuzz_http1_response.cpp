// Fuzz target for credtrace_protocols: the HTTP/1.1 response parser (split-invariance, gap resync, limits) and
// credentials_in_response.
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_common.h"
#include "protocols/http1/response_parser.h"
#include "protocols/response_credentials.h"

namespace {

using credtrace::fuzz::check;
using namespace credtrace::protocols;

constexpr std::array<std::string_view, 4> kMethods = {"GET", "HEAD", "POST", "CONNECT"};

// Byte 1 of the input: four queued requests, two bits each.
void queue_requests(Http1ResponseParser& parser, uint8_t methods) {
  for (int i = 0; i < 4; ++i) parser.request_sent(kMethods[(methods >> (2 * i)) & 3]);
}

void check_same(const std::vector<HttpResponse>& a, const std::vector<HttpResponse>& b) {
  check(a.size() == b.size(), "split feeding changed the number of responses");
  for (size_t i = 0; i < a.size(); ++i) {
    check(a[i].status == b[i].status && a[i].request_method == b[i].request_method, "status or pairing differs");
    check(a[i].body_prefix == b[i].body_prefix && a[i].body_truncated == b[i].body_truncated, "body differs");
    check(a[i].body_encoded == b[i].body_encoded, "body_encoded differs");
    check(a[i].headers.size() == b[i].headers.size(), "header count differs");
    for (size_t h = 0; h < a[i].headers.size(); ++h) {
      check(a[i].headers[h].name == b[i].headers[h].name && a[i].headers[h].value == b[i].headers[h].value,
            "header differs");
    }
  }
}

void check_stats(const ResponseParserStats& a, const ResponseParserStats& b) {
  check(a.responses == b.responses && a.interim_responses == b.interim_responses, "response counts differ");
  check(a.parse_errors == b.parse_errors, "parse_errors depend on splitting");
  check(a.bytes_skipped == b.bytes_skipped, "bytes_skipped depend on splitting");
  check(a.oversized_headers == b.oversized_headers, "oversized_headers depend on splitting");
  check(a.bodies_truncated == b.bodies_truncated && a.responses_dropped == b.responses_dropped,
        "truncation or drop counts depend on splitting");
  check(a.unpaired_responses == b.unpaired_responses && a.bytes_tunneled == b.bytes_tunneled,
        "pairing or tunnel counts depend on splitting");
}

void check_response(const HttpResponse& response) {
  check(response.status >= 100 && response.status <= 999, "status out of range");
  check(response.status >= 200 || response.status == 101, "interim response emitted");
  check(response.body_prefix.size() <= Http1ResponseParser::kMaxBodyPrefix, "body prefix over the limit");
  check(!response.body_truncated || response.body_prefix.size() == Http1ResponseParser::kMaxBodyPrefix,
        "truncated body shorter than the limit");
  for (const HttpHeader& header : response.headers) {
    check(!header.name.empty(), "empty header name");
    for (char c : header.name) check(!(c >= 'A' && c <= 'Z'), "header name not lower-cased");
  }
  std::vector<CarriedCredential> credentials = credentials_in_response(response);
  for (const CarriedCredential& credential : credentials) {
    check(!credential.value.empty() && !credential.type.empty() && !credential.carrier.empty(), "empty credential field");
    check(credential.carrier.starts_with("response:"), "carrier without the response: prefix");
    check(credential.prefix_len <= credential.value.size(), "prefix longer than the value");
  }
  for (size_t i = 0; i < credentials.size(); ++i) {
    for (size_t j = i + 1; j < credentials.size(); ++j) {
      check(credentials[i].value != credentials[j].value || credentials[i].carrier != credentials[j].carrier,
            "the same (value, carrier) twice");
    }
  }
  cleanse(credentials);
}

bool tunneled(const std::vector<HttpResponse>& responses) {
  if (responses.empty()) return false;
  const HttpResponse& last = responses.back();
  return last.status == 101 || (last.request_method == "CONNECT" && last.status >= 200 && last.status < 300);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  size_t piece = static_cast<size_t>(data[0] % 17) + 1;  // byte 0: split size for the second pass
  uint8_t methods = data[1];                             // byte 1: the queued requests
  std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);

  Http1ResponseParser whole;
  queue_requests(whole, methods);
  std::vector<HttpResponse> expected;
  whole.feed(input, expected);
  whole.finish(expected);
  check(whole.stats().responses == expected.size(), "responses stat differs from responses emitted");
  for (const HttpResponse& response : expected) check_response(response);

  Http1ResponseParser split;
  queue_requests(split, methods);
  std::vector<HttpResponse> actual;
  for (size_t pos = 0; pos < input.size(); pos += piece) split.feed(input.substr(pos, piece), actual);
  split.finish(actual);
  check_same(expected, actual);
  check_stats(whole.stats(), split.stats());

  // A gap halfway: never crashes; a gap swallowing everything resynchronises at the next status line.
  Http1ResponseParser gapped;
  queue_requests(gapped, methods);
  std::vector<HttpResponse> before;
  gapped.feed(input.substr(0, input.size() / 2), before);
  gapped.gap(1 + (methods & 7));
  gapped.feed(input.substr(input.size() / 2), before);
  for (const HttpResponse& response : before) check_response(response);
  bool tunnel = tunneled(before);
  size_t count = before.size();
  gapped.gap(std::numeric_limits<uint64_t>::max());
  gapped.feed("HTTP/1.1 204 No Content\r\n\r\n", before);
  check(tunnel || before.size() == count + 1, "no resync after a gap");
  for (HttpResponse& response : before) cleanse(response);

  (void)Http1ResponseParser::looks_like_http1_response(input);
  return 0;
}
