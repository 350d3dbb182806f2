// Incremental HTTP/1.1 response parser: status line, headers, RFC 9112 §6.3 body framing, request pairing, resync.
#include "protocols/http1/response_parser.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "protocols/http1/header_fields.h"
#include "protocols/limit_hits.h"
#include "protocols/text.h"

namespace credtrace::protocols {
namespace {

using detail::iequals;
using http1::append_wiping;
using http1::content_length;
using http1::header_elements;
using http1::is_digit;
using http1::is_token_char;
using http1::parse_decimal;
using http1::parse_header_line;
using http1::without_cr;

constexpr std::string_view kVersionPrefix = "HTTP/1.";
constexpr size_t kStatusPrefixLength = 12;  // "HTTP/1.1 200"
constexpr size_t kReleaseCapacity = 256 * 1024;

// `text` (a first line without '\n', possibly incomplete) can still become "HTTP/1.d DDD" followed by the line
// end or a space and a reason phrase. Looks at the first 13 bytes only. Monotone: once false, always false.
bool status_line_prefix_ok(std::string_view text) {
  size_t n = std::min(text.size(), kStatusPrefixLength + 1);
  for (size_t i = 0; i < n; ++i) {
    char c = text[i];
    bool ok = false;
    if (i < kVersionPrefix.size()) {
      ok = c == kVersionPrefix[i];
    } else if (i == 7) {
      ok = is_digit(c);
    } else if (i == 8) {
      ok = c == ' ';
    } else if (i < kStatusPrefixLength) {
      ok = is_digit(c);
    } else {
      ok = c == ' ' || (c == '\r' && text.size() == kStatusPrefixLength + 1);
    }
    if (!ok) return false;
  }
  return true;
}

// A complete first line (without '\n', a final '\r' allowed): its status code.
std::optional<int> parse_status_line(std::string_view line) {
  if (line.ends_with('\r')) line.remove_suffix(1);
  if (line.size() < kStatusPrefixLength || !status_line_prefix_ok(line)) return std::nullopt;
  if (line.size() > kStatusPrefixLength && line[kStatusPrefixLength] != ' ') return std::nullopt;
  return (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
}

// Where a status line may start in data: the first "HTTP/1.", else the start of a tail that is a prefix of it,
// else data.size().
size_t candidate_offset(std::string_view data) {
  size_t at = data.find(kVersionPrefix);
  if (at != std::string_view::npos) return at;
  for (size_t k = std::min(data.size(), kVersionPrefix.size() - 1); k > 0; --k) {
    if (kVersionPrefix.starts_with(data.substr(data.size() - k))) return data.size() - k;
  }
  return data.size();
}

bool has_header(const std::vector<HttpHeader>& headers, std::string_view name) {
  return std::any_of(headers.begin(), headers.end(), [&](const HttpHeader& header) { return header.name == name; });
}

// Content codings, or transfer codings other than chunked, that leave the body bytes encoded.
bool body_is_encoded(const std::vector<HttpHeader>& headers) {
  bool encoded = false;
  http1::for_each_header_element(headers, "content-encoding", [&](std::string_view coding) {
    encoded = !coding.empty() && !iequals(coding, "identity");
    return !encoded;
  });
  if (encoded) return true;
  http1::for_each_header_element(headers, "transfer-encoding", [&](std::string_view coding) {
    encoded = !coding.empty() && !iequals(coding, "identity") && !iequals(coding, "chunked");
    return !encoded;
  });
  return encoded;
}

}  // namespace

Http1ResponseParser::~Http1ResponseParser() {
  detail::wipe(buffer_);
  cleanse(current_);
}

void Http1ResponseParser::request_sent(std::string_view method) {
  if (requests_.size() >= kMaxPendingRequests) {
    ++stats_.requests_dropped;
    return;
  }
  requests_.emplace_back(method.substr(0, kMaxMethodLength));
}

void Http1ResponseParser::feed(std::string_view bytes, std::vector<HttpResponse>& out) {
  if (buffer_.empty()) {  // nothing held: the bytes are parsed where they lie, and only what is left is copied
    in_place_ = bytes;
    while (step(out) == Step::kProgress) {
    }
    const std::string_view rest = in_place_.substr(std::min(pos_, in_place_.size()));
    in_place_ = {};
    pos_ = 0;  // scan_ and line_start_ count from pos_: they hold for the rest as it is kept
    append_wiping(buffer_, rest);
    return;
  }
  append_wiping(buffer_, bytes);
  while (step(out) == Step::kProgress) {
  }
  compact();
}

// Lends the sink to the parser for one call (streamed bodies go to it as they are parsed); a body a gap cut while no
// sink was lent is reported cut first.
class Http1ResponseParser::LentSink {
 public:
  LentSink(Http1ResponseParser& parser, MessageSink& sink) : parser_(parser) {
    parser_.body_sink_ = &sink;
    if (std::exchange(parser_.cut_pending_, false)) sink.on_response_body({}, true, true);
  }
  ~LentSink() { parser_.body_sink_ = nullptr; }
  LentSink(const LentSink&) = delete;
  LentSink& operator=(const LentSink&) = delete;

 private:
  Http1ResponseParser& parser_;
};

void Http1ResponseParser::feed(std::string_view bytes, MessageSink& sink) {
  detail::BatchLease<detail::ResponseBatch> lease;
  {
    LentSink lent(*this, sink);
    feed(bytes, lease.get().responses);
  }
  detail::yield_responses(lease.get(), sink);
}

void Http1ResponseParser::finish(MessageSink& sink) {
  detail::BatchLease<detail::ResponseBatch> lease;
  {
    LentSink lent(*this, sink);
    finish(lease.get().responses);
  }
  detail::yield_responses(lease.get(), sink);
}

// The header block of a final response is complete: a lent sink may ask for its body (a response without one ends
// at once).
void Http1ResponseParser::offer_head(bool has_body) {
  if (!body_sink_ || !body_sink_->on_response_head(current_)) return;
  if (has_body) {
    streaming_ = true;
  } else {
    body_sink_->on_response_body({}, true, false);
  }
}

// The streamed body ended (cut: a gap, a framing error or the close cut it short).
void Http1ResponseParser::end_stream(bool cut) {
  if (!std::exchange(streaming_, false)) return;
  if (body_sink_) {
    body_sink_->on_response_body({}, true, cut);
  } else {
    cut_pending_ = true;  // a gap: told at the next feed or finish
  }
}

bool Http1ResponseParser::in_body() const {
  return state_ != State::kHead && state_ != State::kTunnel;
}

void Http1ResponseParser::gap(uint64_t missing_bytes) {
  if (missing_bytes == 0) return;
  ++stats_.gaps;
  stats_.bytes_missing += missing_bytes;
  if (state_ == State::kTunnel) return;  // still the other protocol
  const uint64_t remaining = state_ == State::kBody ? remaining_ : chunked_.data_remaining();
  bool framed = state_ == State::kBody || (state_ == State::kChunked && chunked_.in_data());
  if (framed && missing_bytes < remaining && pending().empty()) {
    // The gap ends inside this body: discard the rest of it by its framing, then expect the next status line.
    if (!discarding_) {
      ++stats_.responses_dropped;
      end_stream(true);
      cleanse(current_);
      current_ = HttpResponse{};
      discarding_ = true;
    }
    if (state_ == State::kBody) {
      remaining_ -= missing_bytes;
    } else {
      chunked_.skip_data(missing_bytes);
    }
    resyncing_ = true;
    return;
  }
  if (in_body() && !discarding_) ++stats_.responses_dropped;
  skip_bytes(pending().size());
  drop_response();
  state_ = State::kHead;
  resyncing_ = true;
  compact();
}

void Http1ResponseParser::finish(std::vector<HttpResponse>& out) {
  if (state_ == State::kUntilClose && !discarding_) {
    emit(out);
  } else if (in_body() && !discarding_) {
    ++stats_.responses_dropped;
  }
  skip_bytes(pending().size());
  drop_response();
  state_ = State::kHead;
  resyncing_ = false;
  requests_.clear();
  compact();
  std::string().swap(buffer_);  // empty after compact(): nothing left to wipe
}

Http1ResponseParser::Step Http1ResponseParser::step(std::vector<HttpResponse>& out) {
  switch (state_) {
    case State::kHead: return step_head(out);
    case State::kBody: return step_body(out);
    case State::kChunked: return step_chunked(out);
    case State::kUntilClose: return step_until_close();
    case State::kTunnel: return step_tunnel();
  }
  return Step::kNeedMore;
}

// Skips everything before the next possible status line.
Http1ResponseParser::Step Http1ResponseParser::step_search() {
  std::string_view data = pending();
  size_t at = candidate_offset(data);
  skip_bytes(at);
  return at < data.size() ? Step::kProgress : Step::kNeedMore;
}

Http1ResponseParser::Step Http1ResponseParser::step_head(std::vector<HttpResponse>& out) {
  std::string_view data = pending();
  if (line_start_ == 0) {
    if (resyncing_) {
      if (candidate_offset(data) != 0 || data.empty()) return step_search();
    } else if (!data.empty() && (data.front() == '\n' || data.front() == '\r')) {
      // Empty lines before a status line (e.g. a stray CRLF after a body) are tolerated.
      if (data.front() == '\n') {
        pos_ += 1;
        scan_ = 0;
        return Step::kProgress;
      }
      if (data.size() < 2) return Step::kNeedMore;
      if (data[1] == '\n') {
        pos_ += 2;
        scan_ = 0;
        return Step::kProgress;
      }
    }
  }
  std::string_view window = data.substr(0, kMaxHeaderBlock);  // the block must end inside it
  size_t nl = http1::find_line_end(window, scan_);
  if (line_start_ == 0 && !status_line_prefix_ok(nl == std::string_view::npos ? window : window.substr(0, nl))) {
    fail("data is not an HTTP/1.x response", 1);
    return Step::kProgress;
  }
  if (nl != std::string_view::npos) return step_head_line(nl, out);
  if (data.size() >= kMaxHeaderBlock) {
    fail("header block over 64 KiB", window.size(), true);
    return Step::kProgress;
  }
  return Step::kNeedMore;
}

Http1ResponseParser::Step Http1ResponseParser::step_head_line(size_t line_end, std::vector<HttpResponse>& out) {
  std::string_view data = pending();
  if (line_start_ == 0) {
    std::optional<int> status = parse_status_line(data.substr(0, line_end));
    if (!status) {
      fail("data is not an HTTP/1.x response", 1);
      return Step::kProgress;
    }
    current_ = HttpResponse{};
    detail::take_spares(current_.headers, current_.body_prefix);
    current_.status = *status;
  } else {
    std::string_view line = without_cr(data.substr(line_start_, line_end - line_start_));
    if (line.empty()) {
      pos_ += line_end + 1;
      scan_ = line_start_ = 0;
      start_body(out);
      return Step::kProgress;
    }
    if (const char* error = parse_header_line(line, current_.headers)) {
      fail(error, line_start_);  // skip the status line and valid header lines; search from the bad line
      return Step::kProgress;
    }
  }
  line_start_ = line_end + 1;
  scan_ = line_start_;
  return Step::kProgress;
}

// The header block (already consumed) is complete: pair it with its request and choose the body framing
// (RFC 9112 §6.3).
void Http1ResponseParser::start_body(std::vector<HttpResponse>& out) {
  int status = current_.status;
  if (status < 200 && status != 101) {  // interim: no body, answers no request
    ++stats_.interim_responses;
    cleanse(current_);
    current_ = HttpResponse{};
    resyncing_ = false;
    return;
  }
  if (!requests_.empty()) {
    current_.request_method = std::move(requests_.front());
    requests_.erase(requests_.begin());
  } else {
    ++stats_.unpaired_responses;
  }
  const std::string& method = current_.request_method;
  current_.body_encoded = body_is_encoded(current_.headers);
  const std::optional<std::string_view> last_coding = http1::last_header_element(current_.headers, "transfer-encoding");
  bool has_length = has_header(current_.headers, "content-length");
  std::optional<uint64_t> length = content_length(current_.headers);

  if (status == 101 || (method == "CONNECT" && status < 300)) {
    resyncing_ = false;
    offer_head(false);
    emit(out);
    state_ = State::kTunnel;  // the connection now carries another protocol
    return;
  }
  if (method == "HEAD" || status == 204 || status == 304) {
    resyncing_ = false;
    offer_head(false);
    emit(out);
    return;
  }
  if (last_coding) {
    chunked_.reset();
    state_ = iequals(*last_coding, "chunked") ? State::kChunked : State::kUntilClose;
  } else if (has_length && !length) {
    state_ = State::kBody;  // counted as a dropped response
    fail("invalid content-length", 0);
    return;
  } else if (length) {
    state_ = State::kBody;
    remaining_ = *length;
  } else {
    state_ = State::kUntilClose;
  }
  resyncing_ = false;
  const bool empty = state_ == State::kBody && remaining_ == 0;
  offer_head(!empty);
  if (empty) emit(out);
}

Http1ResponseParser::Step Http1ResponseParser::step_body(std::vector<HttpResponse>& out) {
  std::string_view data = pending();
  size_t take = static_cast<size_t>(std::min<uint64_t>(data.size(), remaining_));
  append_body(data.substr(0, take));
  pos_ += take;
  remaining_ -= take;
  if (remaining_ > 0) return Step::kNeedMore;
  end_message(out);
  return Step::kProgress;
}

Http1ResponseParser::Step Http1ResponseParser::step_until_close() {
  std::string_view data = pending();
  append_body(data);
  pos_ += data.size();
  return Step::kNeedMore;
}

Http1ResponseParser::Step Http1ResponseParser::step_tunnel() {
  stats_.bytes_tunneled += pending().size();
  pos_ += pending().size();
  return Step::kNeedMore;
}

// One step of the chunked framing; the body's data goes to the response, trailer fields are dropped.
Http1ResponseParser::Step Http1ResponseParser::step_chunked(std::vector<HttpResponse>& out) {
  using Event = http1::ChunkedFramer::Event;
  http1::ChunkedFramer::Step framed = chunked_.step(pending());
  switch (framed.event) {
    case Event::kNeedMore: return Step::kNeedMore;
    case Event::kError: fail(framed.error, 0); return Step::kProgress;
    case Event::kTooLarge: fail(framed.error, framed.consumed, true); return Step::kProgress;
    case Event::kData: append_body(framed.data); break;
    case Event::kFraming:
    case Event::kTrailer: break;
    case Event::kEnd:
      pos_ += framed.consumed;
      end_message(out);
      return Step::kProgress;
  }
  pos_ += framed.consumed;
  return Step::kProgress;
}

void Http1ResponseParser::append_body(std::string_view data) {
  if (discarding_) {
    stats_.bytes_skipped += data.size();
    return;
  }
  if (streaming_ && body_sink_ && !data.empty()) body_sink_->on_response_body(data, false, false);
  size_t room = kMaxBodyPrefix - current_.body_prefix.size();
  append_wiping(current_.body_prefix, data.substr(0, room));
  if (data.size() > room) current_.body_truncated = true;
}

// The body of the current message is complete.
void Http1ResponseParser::end_message(std::vector<HttpResponse>& out) {
  if (!discarding_) return emit(out);
  drop_response();
  state_ = State::kHead;
}

void Http1ResponseParser::emit(std::vector<HttpResponse>& out) {
  end_stream(false);
  if (current_.body_truncated) ++stats_.bodies_truncated;
  out.push_back(std::move(current_));
  current_ = HttpResponse{};
  ++stats_.responses;
  state_ = State::kHead;
  remaining_ = 0;
  chunked_.reset();
  scan_ = line_start_ = 0;
}

void Http1ResponseParser::fail(std::string_view what, size_t skip, bool oversized) {
  if (oversized) {
    ++stats_.oversized_headers;
    count_hit(limit_hits().http1_header_blocks);
  } else if (!resyncing_) {
    ++stats_.parse_errors;
  }
  last_error_ = std::string(what);
  if (in_body() && !discarding_) ++stats_.responses_dropped;
  drop_response();
  state_ = State::kHead;
  resyncing_ = true;
  skip_bytes(skip);
}

void Http1ResponseParser::skip_bytes(size_t count) {
  stats_.bytes_skipped += count;
  pos_ += count;
  scan_ = line_start_ = 0;
}

void Http1ResponseParser::drop_response() {
  end_stream(true);
  cleanse(current_);
  current_ = HttpResponse{};
  remaining_ = 0;
  chunked_.reset();
  discarding_ = false;
  scan_ = line_start_ = 0;
}

// Drops the consumed prefix of buffer_, wiping the bytes it leaves behind.
void Http1ResponseParser::compact() {
  if (pos_ == 0) return;
  http1::drop_consumed(buffer_, pos_, kReleaseCapacity);
  pos_ = 0;
}

bool Http1ResponseParser::looks_like_http1_response(std::string_view first_bytes) {
  size_t nl = first_bytes.find('\n');
  if (nl != std::string_view::npos) return parse_status_line(first_bytes.substr(0, nl)).has_value();
  return first_bytes.size() >= kStatusPrefixLength && status_line_prefix_ok(first_bytes);
}

void cleanse(HttpResponse& response) {
  for (HttpHeader& header : response.headers) {
    detail::wipe(header.value);
    http1::keep_value_storage(header.value);
  }
  response.headers.clear();
  detail::wipe(response.body_prefix);
}

}  // namespace credtrace::protocols
