// Public API of the incremental HTTP/1.1 response parser (one direction of one connection, server to client).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/http1/chunked_framer.h"
#include "protocols/http1/request_parser.h"  // HttpHeader
#include "protocols/stream_parser.h"

namespace credtrace::protocols {

struct HttpResponse {
  int status = 0;                   // e.g. 200; never an interim 1xx other than 101
  std::string request_method;       // method of the request it answers ("" if unknown)
  std::vector<HttpHeader> headers;  // names lower-cased, in wire order; obsolete line folding joined with a space
  std::string body_prefix;          // first up to kMaxBodyPrefix bytes of the de-chunked body
  bool body_truncated = false;      // the body was longer than body_prefix
  bool body_encoded = false;        // Content-Encoding (or a transfer coding) other than identity/chunked:
                                    // body_prefix holds encoded bytes
};

namespace detail {
// The responses one feed() hands to a sink, as RequestBatch.
struct ResponseBatch {
  static constexpr size_t kKeptResponses = 8;
  std::vector<HttpResponse> responses;
};
}  // namespace detail

// Every counter only ever grows. None holds response bytes.
struct ResponseParserStats {
  uint64_t responses = 0;           // final responses emitted
  uint64_t interim_responses = 0;   // 1xx other than 101 (100 Continue, 103 Early Hints, …): consumed, not emitted
  uint64_t parse_errors = 0;        // non-HTTP/1.x data, malformed header blocks or framing (one per episode)
  uint64_t bytes_skipped = 0;       // bytes seen but discarded while resynchronising, on a gap or at finish()
  uint64_t oversized_headers = 0;   // header blocks (or chunk trailers) over kMaxHeaderBlock
  uint64_t gaps = 0;                // gap() calls with missing bytes
  uint64_t bytes_missing = 0;       // bytes reported missing by gap()
  uint64_t bodies_truncated = 0;    // emitted responses whose body was longer than kMaxBodyPrefix
  uint64_t responses_dropped = 0;   // responses whose header block was parsed but that a gap() or finish() cut short
  uint64_t unpaired_responses = 0;  // final responses with no queued request (request_method "")
  uint64_t requests_dropped = 0;    // request_sent() calls ignored because kMaxPendingRequests were queued
  uint64_t bytes_tunneled = 0;      // bytes after a 101 or a 2xx to CONNECT (another protocol), not parsed
};

class Http1ResponseParser final : public StreamParser {
 public:
  static constexpr size_t kMaxHeaderBlock = 64 * 1024;  // status line + headers + blank line
  static constexpr size_t kMaxBodyPrefix = 16 * 1024;
  static constexpr size_t kMaxChunkSizeLine = 4 * 1024;
  static constexpr size_t kMaxPendingRequests = 256;  // request_sent() queue
  static constexpr size_t kMaxMethodLength = 32;      // longer methods are queued truncated

  Http1ResponseParser() = default;
  Http1ResponseParser(const Http1ResponseParser&) = delete;
  Http1ResponseParser& operator=(const Http1ResponseParser&) = delete;
  ~Http1ResponseParser() override;

  // StreamParser: final responses go to sink.on_response; the other direction's requests pair with them. A sink may
  // take bodies as they arrive (MessageSink::on_response_head): they are passed on before being bounded.
  std::string_view protocol() const override { return "http/1.1"; }
  void feed(std::string_view bytes, MessageSink& sink) override;
  void on_gap(uint64_t missing_bytes) override { gap(missing_bytes); }
  void finish(MessageSink& sink) override;
  void on_peer_request(std::string_view method) override { request_sent(method); }

  // A request was sent on this connection (client to server). Responses pair with requests in order; the method
  // decides framing (HEAD: no body; CONNECT + 2xx: tunnel). Interim 1xx responses do not consume a request.
  void request_sent(std::string_view method);

  // Feed bytes in order; every complete final response is appended to out. Handles pipelining, any split of the
  // input (even byte by byte), interim 1xx responses, bodies framed per RFC 9112 §6.3 (no body for HEAD, 1xx,
  // 204 and 304; chunked with extensions and trailers; Content-Length; otherwise until finish()). A header block
  // over kMaxHeaderBlock or data that is not HTTP/1.x is counted and skipped up to the next status line
  // ("HTTP/1.x NNN"). After a 101 or a 2xx to CONNECT the rest of the stream is another protocol and ignored.
  // Never throws.
  void feed(std::string_view bytes, std::vector<HttpResponse>& out);

  // Bytes of this direction we never saw: the partial response is dropped (never emitted) and the parser
  // resynchronises at the next status line. When the gap lies inside a Content-Length body or a chunk whose
  // remaining length is known, the rest of that body is discarded by its framing rather than searched for a
  // status line. Queued requests are kept. Counted in stats.
  void gap(uint64_t missing_bytes);

  // The stream closed: emits a close-delimited response in progress, drops any other partial response, forgets
  // queued requests and resets the parser (stats kept) so it could parse a new stream.
  void finish(std::vector<HttpResponse>& out);

  const ResponseParserStats& stats() const { return stats_; }

  // A fixed description of the last error ("" if none); never contains input bytes.
  const std::string& last_error() const { return last_error_; }

  // Requests queued by request_sent() and not yet answered.
  size_t pending_requests() const { return requests_.size(); }

  // "HTTP/1.x NNN" followed by a space or the line end; when the first line is complete it must be a status line.
  static bool looks_like_http1_response(std::string_view first_bytes);

 private:
  enum class State { kHead, kBody, kChunked, kUntilClose, kTunnel };
  enum class Step { kProgress, kNeedMore };

  Step step(std::vector<HttpResponse>& out);
  Step step_head(std::vector<HttpResponse>& out);
  Step step_search();
  Step step_head_line(size_t line_end, std::vector<HttpResponse>& out);
  Step step_body(std::vector<HttpResponse>& out);
  Step step_until_close();
  Step step_tunnel();
  Step step_chunked(std::vector<HttpResponse>& out);

  class LentSink;
  void start_body(std::vector<HttpResponse>& out);
  void offer_head(bool has_body);
  void end_stream(bool cut);
  void append_body(std::string_view data);
  void end_message(std::vector<HttpResponse>& out);
  void emit(std::vector<HttpResponse>& out);
  void fail(std::string_view what, size_t skip, bool oversized = false);
  void skip_bytes(size_t count);
  void drop_response();
  bool in_body() const;
  void compact();
  std::string_view pending() const {
    return (in_place_.data() != nullptr ? in_place_ : std::string_view(buffer_)).substr(pos_);
  }
  std::string_view in_place_;  // during feed() with nothing held: the caller's bytes, parsed without a copy

  std::string buffer_;         // bytes received but not yet consumed (from pos_)
  size_t pos_ = 0;             // consumed prefix of buffer_
  size_t scan_ = 0;            // bytes after pos_ already searched for a line end
  size_t line_start_ = 0;      // start of the current header line relative to pos_ (0: the status line)
  bool resyncing_ = false;     // searching for a status line; failures are not counted again
  bool discarding_ = false;    // the current message is framed but dropped (a gap hit its body)
  State state_ = State::kHead;
  uint64_t remaining_ = 0;     // Content-Length body bytes still expected
  http1::ChunkedFramer chunked_{kMaxChunkSizeLine, kMaxHeaderBlock};  // the body's framing when it is chunked
  HttpResponse current_;
  // Methods of requests not yet answered, oldest first: a vector (at most kMaxPendingRequests, nearly always 0 or 1),
  // as an empty std::deque already holds ~580 bytes and every HTTP/1.1 stream has one.
  std::vector<std::string> requests_;
  ResponseParserStats stats_;
  std::string last_error_;
  MessageSink* body_sink_ = nullptr;  // the sink of the feed()/finish() call in progress (streamed bodies)
  bool streaming_ = false;            // the current response's body goes to body_sink_ as it arrives
  bool cut_pending_ = false;          // a streamed body was cut while no sink was lent
};

// Overwrites the response's header values and body (OPENSSL_cleanse) and clears them.
void cleanse(HttpResponse& response);

}  // namespace credtrace::protocols
