// Protocol detection of a client's first bytes, and handing parsed messages to a sink with wiping afterwards.
#include "protocols/stream_parser.h"

#include "protocols/http1/request_parser.h"
#include "protocols/http1/response_parser.h"
#include "protocols/http2/request_parser.h"
#include "protocols/text.h"

namespace credtrace::protocols {
namespace detail {
namespace {

// Wipes every request and raw query it was given when the scope ends, on every way out.
class RequestsWipe {
 public:
  RequestsWipe(std::vector<HttpRequest>& requests, std::vector<std::string>& raw_queries)
      : requests_(requests), raw_queries_(raw_queries) {}
  RequestsWipe(const RequestsWipe&) = delete;
  RequestsWipe& operator=(const RequestsWipe&) = delete;
  ~RequestsWipe() {
    for (HttpRequest& request : requests_) cleanse(request);
    for (std::string& query : raw_queries_) wipe(query);
    requests_.clear();
    raw_queries_.clear();
  }

 private:
  std::vector<HttpRequest>& requests_;
  std::vector<std::string>& raw_queries_;
};

class ResponsesWipe {
 public:
  explicit ResponsesWipe(std::vector<HttpResponse>& responses) : responses_(responses) {}
  ResponsesWipe(const ResponsesWipe&) = delete;
  ResponsesWipe& operator=(const ResponsesWipe&) = delete;
  ~ResponsesWipe() {
    for (HttpResponse& response : responses_) cleanse(response);
    responses_.clear();
  }

 private:
  std::vector<HttpResponse>& responses_;
};

}  // namespace

void yield_requests(std::vector<HttpRequest>& requests, std::vector<std::string>& raw_queries, MessageSink& sink) {
  RequestsWipe wipe_after(requests, raw_queries);
  for (size_t i = 0; i < requests.size(); ++i)
    sink.on_request(requests[i], i < raw_queries.size() ? std::string_view(raw_queries[i]) : std::string_view());
}

void yield_responses(std::vector<HttpResponse>& responses, MessageSink& sink) {
  ResponsesWipe wipe_after(responses);
  for (HttpResponse& response : responses) sink.on_response(response);
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
