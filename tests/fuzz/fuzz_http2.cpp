// Fuzz target for credtrace_protocols: the HTTP/2 request parser (HPACK, framing) fed whole and in pieces.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_common.h"
#include "protocols/credentials.h"
#include "protocols/http2/request_parser.h"

namespace {

using credtrace::fuzz::check;
using namespace credtrace::protocols;

const std::string kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t piece = static_cast<size_t>(data[0] % 13) + 1;  // first byte: split size for the second pass
  // The rest are frames after a valid preface, so the fuzzer spends its time in framing and HPACK.
  std::string input = kPreface + std::string(reinterpret_cast<const char*>(data) + 1, size - 1);

  Http2RequestParser whole;
  std::vector<HttpRequest> expected;
  std::vector<std::string> raw_queries;
  whole.feed(input, expected, raw_queries);
  check(raw_queries.size() == expected.size(), "one raw query per request");
  for (size_t i = 0; i < expected.size(); ++i) {
    check(!expected[i].method.empty(), "request without a method");
    for (const CarriedCredential& credential : credentials_in_request(expected[i], raw_queries[i]))
      check(credential.prefix_len <= credential.value.size(), "prefix longer than the value");
  }

  Http2RequestParser pieces;
  std::vector<HttpRequest> got;
  std::vector<std::string> got_queries;
  for (size_t offset = 0; offset < input.size(); offset += piece)
    pieces.feed(std::string_view(input).substr(offset, piece), got, got_queries);
  check(got.size() == expected.size(), "split feeding changed the number of requests");
  check(pieces.broken() == whole.broken(), "split feeding changed whether the connection broke");
  for (size_t i = 0; i < got.size(); ++i)
    check(got[i].method == expected[i].method && got[i].path == expected[i].path && got[i].host == expected[i].host,
          "split feeding changed a request");
  return 0;
}
