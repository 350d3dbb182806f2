// Fuzz target for credtrace_protocols: the HTTP/1.1 request parser (split-invariance) and credentials_in_request.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_common.h"
#include "protocols/credentials.h"
#include "protocols/http1/request_parser.h"

namespace {

using credtrace::fuzz::check;
using namespace credtrace::protocols;

void check_same(const std::vector<HttpRequest>& a, const std::vector<HttpRequest>& b) {
  check(a.size() == b.size(), "split feeding changed the number of requests");
  for (size_t i = 0; i < a.size(); ++i) {
    check(a[i].method == b[i].method && a[i].path == b[i].path && a[i].host == b[i].host, "request line differs");
    check(a[i].body_prefix == b[i].body_prefix && a[i].body_truncated == b[i].body_truncated, "body differs");
    check(a[i].headers.size() == b[i].headers.size(), "header count differs");
  }
}

void check_request(const HttpRequest& request) {
  check(request.body_prefix.size() <= Http1RequestParser::kMaxBodyPrefix, "body prefix over the limit");
  check(!request.method.empty(), "request without a method");
  for (const CarriedCredential& credential : credentials_in_request(request, "")) {
    check(!credential.value.empty() && !credential.type.empty() && !credential.carrier.empty(), "empty credential field");
    check(credential.prefix_len <= credential.value.size(), "prefix longer than the value");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t piece = static_cast<size_t>(data[0] % 17) + 1;  // first byte: split size for the second pass
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

  Http1RequestParser whole;
  std::vector<HttpRequest> expected;
  std::vector<std::string> raw_queries;
  whole.feed(input, expected, raw_queries);
  check(raw_queries.size() == expected.size(), "one raw query per request");
  check(whole.stats().requests == expected.size(), "requests stat differs from requests emitted");
  for (size_t i = 0; i < expected.size(); ++i) {
    check_request(expected[i]);
    for (const CarriedCredential& credential : credentials_in_request(expected[i], raw_queries[i])) {
      check(credential.prefix_len <= credential.value.size(), "prefix longer than the value");
    }
  }

  Http1RequestParser split;
  std::vector<HttpRequest> actual;
  for (size_t pos = 0; pos < input.size(); pos += piece) split.feed(input.substr(pos, piece), actual);
  check_same(expected, actual);
  check(split.stats().parse_errors == whole.stats().parse_errors, "parse_errors depend on splitting");
  check(split.stats().bytes_skipped == whole.stats().bytes_skipped, "bytes_skipped depend on splitting");

  split.gap(3);  // a gap after everything must not crash and must resynchronise
  split.feed("GET / HTTP/1.1\r\n\r\n", actual);
  check(actual.size() == expected.size() + 1, "no resync after a gap");
  (void)Http1RequestParser::looks_like_http1_request(input);
  return 0;
}
