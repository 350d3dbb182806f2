// Public API of the incremental HTTP/2 request parser (client-to-server direction of one connection, with HPACK).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/http1/request_parser.h"
#include "protocols/stream_parser.h"

struct nghttp2_hd_inflater;

namespace credtrace::protocols {

// Every counter only ever grows. None holds request bytes.
struct Http2Stats {
  uint64_t frames = 0;         // frame headers parsed
  uint64_t requests = 0;       // requests emitted (header blocks carrying :method)
  uint64_t hpack_errors = 0;   // header blocks the HPACK inflater rejected (the connection breaks)
  uint64_t frame_errors = 0;   // bad preface, framing violations, header blocks over kMaxHeaderBlock/kMaxHeaderList
  uint64_t gaps = 0;           // gap() calls with missing bytes
  uint64_t bytes_skipped = 0;  // bytes buffered or received but ignored because the connection is broken
};

// Client-to-server direction of one HTTP/2 connection, fed in order from its first byte (the connection preface).
// One HPACK inflater per connection, so indexed and dynamic-table headers decode. Emits one HttpRequest per
// HEADERS(+CONTINUATION) block that carries :method: method, path (query values removed, as HTTP/1's parser does),
// host (:authority, else the host header; lower-cased), regular headers (names lower-cased; no pseudo-headers).
// DATA and control frames are skipped by length without buffering; body_prefix stays empty. Any framing
// violation, a bad preface, an HPACK error or a gap breaks the connection: further input is counted and ignored.
class Http2RequestParser final : public StreamParser {
 public:
  static constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  static constexpr size_t kMaxHeaderBlock = 256 * 1024;      // HEADERS + CONTINUATION payload bytes per block
  static constexpr size_t kMaxDynamicTable = 64 * 1024;      // largest HPACK table size update accepted
  static constexpr size_t kMaxHeaderList = 256 * 1024;       // decoded name + value + 32 bytes per field, per block

  Http2RequestParser();
  Http2RequestParser(const Http2RequestParser&) = delete;
  Http2RequestParser& operator=(const Http2RequestParser&) = delete;
  ~Http2RequestParser() override;

  // StreamParser: requests go to sink.on_request; a gap gives the connection up; finish() drops an open block.
  std::string_view protocol() const override { return "h2"; }
  void feed(std::string_view bytes, MessageSink& sink) override;
  void on_gap(uint64_t missing_bytes) override { gap(missing_bytes); }
  void finish(MessageSink& sink) override;
  bool given_up() const override { return broken_; }

  // Feed bytes in order (any split). Every complete request is appended to out and its raw query (as on the wire,
  // without '?', "" when none) to raw_queries; the caller wipes those strings after use. Never throws by design.
  void feed(std::string_view bytes, std::vector<HttpRequest>& out, std::vector<std::string>& raw_queries);

  // Bytes of this direction we never saw: HPACK state is lost, so the connection is marked broken.
  void gap(uint64_t missing_bytes);

  bool broken() const { return broken_; }
  const Http2Stats& stats() const { return stats_; }

  // The first bytes (at least 3) are the connection preface or a prefix of it.
  static bool starts_with_preface(std::string_view first_bytes);
  // Fewer than 3 bytes, all a prefix of the preface: too short to tell.
  static bool could_become_preface(std::string_view first_bytes);

 private:
  enum class State { kPreface, kFrameHeader, kPayload, kSkip };
  enum class Inflated { kOk, kHpackError, kTooLarge };

  struct FrameHeader {
    uint32_t length = 0;
    uint8_t type = 0;
    uint8_t flags = 0;
    uint32_t stream_id = 0;
  };

  struct InflaterDeleter {
    void operator()(nghttp2_hd_inflater* inflater) const;
  };

  bool take(std::string_view& bytes, size_t need, std::string_view& unit);
  void release_unit();
  void consume_preface(std::string_view& bytes);
  void consume_frame_header(std::string_view& bytes);
  void consume_payload(std::string_view& bytes, std::vector<HttpRequest>& out, std::vector<std::string>& raw_queries);
  void consume_skip(std::string_view& bytes);
  bool start_frame();
  bool header_fragment(std::string_view payload, std::string_view& fragment) const;
  Inflated inflate(std::string_view fragment, bool final_fragment);
  bool add_header(std::string_view name, std::string_view value);
  void finish_block(std::vector<HttpRequest>& out, std::vector<std::string>& raw_queries);
  void reset_block();
  void fail_frame();
  void fail_hpack();
  void mark_broken();

  std::unique_ptr<nghttp2_hd_inflater, InflaterDeleter> inflater_;
  State state_ = State::kPreface;
  std::string buffer_;             // partial preface, frame header or HEADERS/CONTINUATION payload (wiped)
  FrameHeader frame_;              // the frame being consumed
  uint64_t skip_remaining_ = 0;    // payload bytes of a skipped frame still to come
  bool in_block_ = false;          // a header block is open (awaiting CONTINUATION)
  uint32_t block_stream_ = 0;      // its stream
  size_t block_bytes_ = 0;         // its fragment bytes so far
  size_t decoded_bytes_ = 0;       // its decoded header list size so far (HPACK can expand a lot)
  HttpRequest current_;            // headers of the open block
  std::string pseudo_path_;        // :path of the open block (wiped)
  std::string pseudo_authority_;   // :authority of the open block (wiped)
  bool broken_ = false;
  Http2Stats stats_;
};

}  // namespace credtrace::protocols
