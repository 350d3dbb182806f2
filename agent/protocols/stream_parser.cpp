// Protocol detection of a client's first bytes, and handing parsed messages to a sink with wiping afterwards.
#include "protocols/stream_parser.h"

#include "protocols/http1/request_parser.h"
#include "protocols/http1/response_parser.h"
#include "protocols/http2/request_parser.h"
#include "protocols/text.h"

namespace credtrace::protocols {
namespace detail {

std::vector<HttpHeader>& spare_header_storage() {
  thread_local std::vector<HttpHeader> spare;
  return spare;
}

std::string& spare_body_storage() {
  thread_local std::string spare;
  return spare;
}

void take_spares(std::vector<HttpHeader>& headers, std::string& body) {
  headers.swap(spare_header_storage());
  body.swap(spare_body_storage());
}

namespace {

constexpr size_t kKeptHeaderCapacity = 64;  // a vector grown by a huge head is freed, not kept

// A handed-over message's emptied header vector and body (already wiped by cleanse) become the thread's spares when
// it has none.
void keep_spares(std::vector<HttpHeader>& headers, std::string& body) {
  std::vector<HttpHeader>& spare_headers = spare_header_storage();
  if (spare_headers.capacity() == 0 && headers.empty() && headers.capacity() <= kKeptHeaderCapacity)
    spare_headers.swap(headers);
  std::string& spare_body = spare_body_storage();
  if (spare_body.capacity() < body.capacity() && body.empty()) spare_body.swap(body);
}

// Wipes every request and raw query of the batch when the scope ends, on every way out, and empties it: its storage
// stays for the next feed (a burst's is given back), and one message's emptied header vector and body become the
// thread's spares (wiped by cleanse first, so the storage holds no secret).
class RequestsWipe {
 public:
  explicit RequestsWipe(RequestBatch& batch) : batch_(batch) {}
  RequestsWipe(const RequestsWipe&) = delete;
  RequestsWipe& operator=(const RequestsWipe&) = delete;
  ~RequestsWipe() {
    for (HttpRequest& request : batch_.requests) cleanse(request);
    for (std::string& query : batch_.raw_queries) wipe(query);
    if (!batch_.requests.empty()) keep_spares(batch_.requests.front().headers, batch_.requests.front().body_prefix);
    batch_.requests.clear();
    batch_.raw_queries.clear();
    if (batch_.requests.capacity() > RequestBatch::kKeptRequests) std::vector<HttpRequest>().swap(batch_.requests);
    if (batch_.raw_queries.capacity() > RequestBatch::kKeptRequests) std::vector<std::string>().swap(batch_.raw_queries);
  }

 private:
  RequestBatch& batch_;
};

class ResponsesWipe {
 public:
  explicit ResponsesWipe(ResponseBatch& batch) : batch_(batch) {}
  ResponsesWipe(const ResponsesWipe&) = delete;
  ResponsesWipe& operator=(const ResponsesWipe&) = delete;
  ~ResponsesWipe() {
    for (HttpResponse& response : batch_.responses) cleanse(response);
    if (!batch_.responses.empty()) keep_spares(batch_.responses.front().headers, batch_.responses.front().body_prefix);
    batch_.responses.clear();
    if (batch_.responses.capacity() > ResponseBatch::kKeptResponses) std::vector<HttpResponse>().swap(batch_.responses);
  }

 private:
  ResponseBatch& batch_;
};

}  // namespace

void yield_requests(RequestBatch& batch, MessageSink& sink) {
  RequestsWipe wipe_after(batch);
  for (size_t i = 0; i < batch.requests.size(); ++i) {
    sink.on_request(batch.requests[i],
                    i < batch.raw_queries.size() ? std::string_view(batch.raw_queries[i]) : std::string_view());
  }
}

void yield_responses(ResponseBatch& batch, MessageSink& sink) {
  ResponsesWipe wipe_after(batch);
  for (HttpResponse& response : batch.responses) sink.on_response(response);
}

}  // namespace detail

Detection detect_client_protocol(std::string_view first_bytes) {
  Detection detection;
  if (Http1RequestParser::looks_like_http1_request(first_bytes)) {
    detection.verdict = Detection::Verdict::kParser;
    detection.parser = std::make_unique<Http1RequestParser>();
  } else if (Http2RequestParser::starts_with_preface(first_bytes)) {
    detection.verdict = Detection::Verdict::kParser;
    detection.parser = std::make_unique<Http2RequestParser>();
  } else if (Http1RequestParser::could_become_http1_request(first_bytes) ||
             Http2RequestParser::could_become_preface(first_bytes)) {
    detection.verdict = Detection::Verdict::kNeedMore;  // "GE", "GET ", "PR": too short to tell
  }
  // Next: newline-delimited JSON-RPC (a first line that is a JSON object with "jsonrpc") on stdio streams.
  return detection;
}

}  // namespace credtrace::protocols
