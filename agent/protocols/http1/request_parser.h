// Public API of the incremental HTTP/1.1 request parser (one direction of one connection, client to server).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/http1/chunked_framer.h"
#include "protocols/stream_parser.h"

namespace credtrace::protocols {

struct HttpHeader {
  std::string name;  // lower-cased
  std::string value;  // raw value, optional whitespace trimmed (may hold a secret: wipe with cleanse())
};

struct HttpRequest {
  std::string method;
  std::string path;                        // query VALUES removed: "/v1/x?key=&page="; typed credentials in the
                                           // path itself become "<redacted:TYPE>"
  std::string raw_target_query_keys_only;  // the query without values and without '?': "key=&page="
  std::string host;                        // Host header (lower-cased), else the absolute-form/CONNECT authority
  std::vector<HttpHeader> headers;         // in wire order; obsolete line folding joined with a space
  std::string body_prefix;                 // first up to kMaxBodyPrefix bytes of the (de-chunked) body
  bool body_truncated = false;             // the body was longer than body_prefix
};

namespace detail {
// The requests one feed() hands to a sink (through BatchLease): emptied after each hand-over with the storage kept
// (a burst's is given back).
struct RequestBatch {
  static constexpr size_t kKeptRequests = 8;
  std::vector<HttpRequest> requests;
  std::vector<std::string> raw_queries;
};

// The calling thread's spare storage: an emptied header vector and body prefix (wiped before they came here) that a
// message handed over left. A parser starting a message takes them (take_spares) so its fields reuse that storage.
std::vector<HttpHeader>& spare_header_storage();
std::string& spare_body_storage();
// Swaps the thread's spares into a new message's empty headers and body (they are left empty, without storage).
void take_spares(std::vector<HttpHeader>& headers, std::string& body);
}  // namespace detail

// Every counter only ever grows. None holds request bytes.
struct ParserStats {
  uint64_t requests = 0;           // complete requests emitted
  uint64_t parse_errors = 0;       // non-HTTP/1.x data, malformed header blocks or framing (one per episode)
  uint64_t bytes_skipped = 0;      // bytes seen but discarded while resynchronising or on a gap
  uint64_t oversized_headers = 0;  // header blocks (or chunk trailers) over kMaxHeaderBlock
  uint64_t gaps = 0;               // gap() calls with missing bytes
  uint64_t bytes_missing = 0;      // bytes reported missing by gap()
  uint64_t bodies_truncated = 0;   // requests whose body was longer than kMaxBodyPrefix
};

class Http1RequestParser final : public StreamParser {
 public:
  static constexpr size_t kMaxHeaderBlock = 64 * 1024;  // request line + headers + blank line
  static constexpr size_t kMaxBodyPrefix = 16 * 1024;
  static constexpr size_t kMaxChunkSizeLine = 4 * 1024;

  Http1RequestParser() = default;
  Http1RequestParser(const Http1RequestParser&) = delete;
  Http1RequestParser& operator=(const Http1RequestParser&) = delete;
  ~Http1RequestParser() override;

  // StreamParser: requests go to sink.on_request; finish() drops a partial request (a request is never delimited by
  // the close).
  std::string_view protocol() const override { return "http/1.1"; }
  void feed(std::string_view bytes, MessageSink& sink) override;
  void on_gap(uint64_t missing_bytes) override { gap(missing_bytes); }
  void finish(MessageSink& sink) override;

  // Feed bytes in order; every complete request (headers + body consumed per Content-Length or chunked
  // encoding) is appended to out. Handles pipelining, requests split across feeds (even byte by byte), chunked
  // bodies with extensions and trailers. A header block over kMaxHeaderBlock or data that is not HTTP/1.x is
  // counted and skipped up to the next line that is a request line ("METHOD target HTTP/1.x"). Never throws.
  void feed(std::string_view bytes, std::vector<HttpRequest>& out);

  // The same, and for every request appended to out also appends its raw query (as on the wire, without '?',
  // "" when none) to raw_queries, for credentials_in_request(). The caller wipes those strings after use.
  void feed(std::string_view bytes, std::vector<HttpRequest>& out, std::vector<std::string>& raw_queries);

  // Bytes of this direction we never saw: the partial request is dropped and the parser resynchronises at
  // the next request line. Counted in stats (gaps, bytes_missing, bytes_skipped for dropped buffered bytes).
  void gap(uint64_t missing_bytes);

  const ParserStats& stats() const { return stats_; }

  // A fixed description of the last error ("" if none); never contains input bytes.
  const std::string& last_error() const { return last_error_; }

  // "GET / HTTP/1.1\r\n"-style start: a known method, a space and a plausible target; when the first line is
  // complete it must end with " HTTP/1.x".
  static bool looks_like_http1_request(std::string_view first_bytes);
  // No line end yet, and the bytes can still become a request line ("GE", "GET ", "POST /v1"): too short to tell.
  static bool could_become_http1_request(std::string_view first_bytes);

 private:
  enum class State { kHead, kBody, kChunked };
  enum class Step { kProgress, kNeedMore };

  Step step(std::vector<HttpRequest>& out, std::vector<std::string>* raw_queries);
  Step step_head(std::vector<HttpRequest>& out, std::vector<std::string>* raw_queries);
  Step step_skip_line();
  Step step_head_line(size_t line_end, std::vector<HttpRequest>& out, std::vector<std::string>* raw_queries);
  Step step_body(std::vector<HttpRequest>& out, std::vector<std::string>* raw_queries);
  Step step_chunked(std::vector<HttpRequest>& out, std::vector<std::string>* raw_queries);

  bool start_request(std::string_view block);
  bool parse_header_lines(std::string_view block);
  void begin_body();
  void append_body(std::string_view data);
  void emit(std::vector<HttpRequest>& out, std::vector<std::string>* raw_queries);
  void fail(std::string_view what, bool oversized);
  void reject_first_line();
  void skip_bytes(size_t count);
  void drop_request();
  void compact();
  std::string_view pending() const {
    return (in_place_.data() != nullptr ? in_place_ : std::string_view(buffer_)).substr(pos_);
  }

  std::string_view in_place_;  // during feed() with nothing held: the caller's bytes, parsed without a copy
  std::string buffer_;       // bytes received but not yet consumed (from pos_)
  size_t pos_ = 0;           // consumed prefix of buffer_
  size_t scan_ = 0;          // bytes after pos_ already searched for a line end
  size_t line_start_ = 0;    // start of the current header line, relative to pos_
  static constexpr size_t kTypicalHeadLines = 64;
  std::vector<size_t> line_ends_;  // the current head's '\n' offsets found so far (relative to pos_), request line first
  bool resyncing_ = false;   // looking for a request line; non-request lines are skipped silently
  bool skipping_line_ = false;  // discarding up to the next '\n'
  State state_ = State::kHead;
  uint64_t remaining_ = 0;   // Content-Length body bytes still expected
  http1::ChunkedFramer chunked_{kMaxChunkSizeLine, kMaxHeaderBlock};  // the body's framing when it is chunked
  HttpRequest current_;
  std::string current_raw_query_;
  ParserStats stats_;
  std::string last_error_;
};

// Overwrites the request's header values and body (OPENSSL_cleanse) and clears them.
void cleanse(HttpRequest& request);

}  // namespace credtrace::protocols
