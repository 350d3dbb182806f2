// Incremental HTTP/1.1 request parser: request line, headers, Content-Length/chunked framing and resync.
#include "protocols/http1/request_parser.h"

#include <algorithm>
#include <array>
#include <optional>

#include "protocols/http1/header_fields.h"
#include "protocols/http1/request_target.h"
#include "protocols/limit_hits.h"
#include "protocols/text.h"

namespace credtrace::protocols {
namespace {

using detail::iequals;
using http1::content_length;
using http1::header_elements;
using http1::is_digit;
using http1::is_token_char;
using http1::parse_decimal;
using http1::parse_header_line;
using http1::without_cr;

constexpr std::array<std::string_view, 9> kMethods = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                                      "CONNECT", "OPTIONS", "TRACE", "PATCH"};
constexpr std::string_view kVersionPrefix = "HTTP/1.";
constexpr size_t kReleaseCapacity = 256 * 1024;

bool is_known_method(std::string_view method) {
  return std::find(kMethods.begin(), kMethods.end(), method) != kMethods.end();
}

bool is_method_prefix(std::string_view text) {
  return std::any_of(kMethods.begin(), kMethods.end(), [&](std::string_view m) { return m.starts_with(text); });
}

bool is_target_char(char c) { return c > 0x20 && c < 0x7f; }

// The version part of a request line so far: a prefix of "HTTP/1.d", optionally followed by '\r'.
bool version_prefix_ok(std::string_view version) {
  if (version.size() <= kVersionPrefix.size()) return kVersionPrefix.starts_with(version);
  if (!version.starts_with(kVersionPrefix) || !is_digit(version[kVersionPrefix.size()])) return false;
  std::string_view rest = version.substr(kVersionPrefix.size() + 1);
  return rest.empty() || rest == "\r";
}

// `text` (a first line without '\n', possibly incomplete) can still become "METHOD target HTTP/1.d".
// Monotone: once false, no continuation makes it true.
bool request_line_prefix_ok(std::string_view text) {
  size_t space = text.find(' ');
  if (space == std::string_view::npos) return is_method_prefix(text);
  if (!is_known_method(text.substr(0, space))) return false;
  std::string_view rest = text.substr(space + 1);
  size_t second = rest.find(' ');
  std::string_view target = rest.substr(0, second);
  if (!std::all_of(target.begin(), target.end(), is_target_char)) return false;
  if (second == std::string_view::npos) return true;
  return !target.empty() && version_prefix_ok(rest.substr(second + 1));
}

struct RequestLine {
  std::string_view method, target;
};

// A complete first line (without '\n', '\r' allowed at the end).
std::optional<RequestLine> parse_request_line(std::string_view line) {
  if (!request_line_prefix_ok(line)) return std::nullopt;
  if (line.ends_with('\r')) line.remove_suffix(1);
  size_t first = line.find(' ');
  size_t second = line.find(' ', first + 1);
  if (second == std::string_view::npos || line.size() - second - 1 != kVersionPrefix.size() + 1) return std::nullopt;
  return RequestLine{line.substr(0, first), line.substr(first + 1, second - first - 1)};
}

const HttpHeader* find_header(const std::vector<HttpHeader>& headers, std::string_view name) {
  for (const HttpHeader& header : headers) {
    if (header.name == name) return &header;
  }
  return nullptr;
}

bool switches_protocol(const HttpRequest& request) {
  return request.method == "CONNECT" || find_header(request.headers, "upgrade") != nullptr;
}

}  // namespace

Http1RequestParser::~Http1RequestParser() {
  detail::wipe(buffer_);
  detail::wipe(current_raw_query_);
  cleanse(current_);
}

void Http1RequestParser::feed(std::string_view bytes, std::vector<HttpRequest>& out) {
  std::vector<std::string> raw_queries;
  feed(bytes, out, raw_queries);
  for (std::string& query : raw_queries) detail::wipe(query);
}

void Http1RequestParser::feed(std::string_view bytes, std::vector<HttpRequest>& out,
                              std::vector<std::string>& raw_queries) {
  if (buffer_.empty()) {  // nothing held: the bytes are parsed where they lie, and only what is left is copied
    in_place_ = bytes;
    while (step(out, &raw_queries) == Step::kProgress) {
    }
    const std::string_view rest = in_place_.substr(std::min(pos_, in_place_.size()));
    in_place_ = {};
    pos_ = 0;  // scan_ and line_start_ count from pos_: they hold for the rest as it is kept
    buffer_.assign(rest);
    return;
  }
  buffer_.append(bytes);
  while (step(out, &raw_queries) == Step::kProgress) {
  }
  compact();
}

void Http1RequestParser::feed(std::string_view bytes, MessageSink& sink) {
  detail::BatchLease<detail::RequestBatch> lease;
  detail::RequestBatch& batch = lease.get();
  feed(bytes, batch.requests, batch.raw_queries);
  detail::yield_requests(batch, sink);
}

void Http1RequestParser::finish(MessageSink&) {
  skip_bytes(pending().size());
  drop_request();
  state_ = State::kHead;
  resyncing_ = false;
  skipping_line_ = false;
  compact();
}

void Http1RequestParser::gap(uint64_t missing_bytes) {
  if (missing_bytes == 0) return;
  ++stats_.gaps;
  stats_.bytes_missing += missing_bytes;
  skip_bytes(pending().size());
  drop_request();
  state_ = State::kHead;
  resyncing_ = true;
  skipping_line_ = false;  // the next byte may well start a request line
  compact();
}

Http1RequestParser::Step Http1RequestParser::step(std::vector<HttpRequest>& out,
                                                  std::vector<std::string>* raw_queries) {
  switch (state_) {
    case State::kHead: return step_head(out, raw_queries);
    case State::kBody: return step_body(out, raw_queries);
    case State::kChunked: return step_chunked(out, raw_queries);
  }
  return Step::kNeedMore;
}

Http1RequestParser::Step Http1RequestParser::step_head(std::vector<HttpRequest>& out,
                                                       std::vector<std::string>* raw_queries) {
  if (skipping_line_) return step_skip_line();
  std::string_view data = pending();
  std::string_view window = data.substr(0, kMaxHeaderBlock);  // the block must end inside it
  size_t nl = http1::find_line_end(window, scan_);
  if (nl != std::string_view::npos) return step_head_line(nl, out, raw_queries);
  if (line_start_ == 0 && !request_line_prefix_ok(window)) {
    reject_first_line();
    return Step::kProgress;
  }
  if (data.size() >= kMaxHeaderBlock) {
    fail("header block over 64 KiB", true);
    skipping_line_ = true;
    return Step::kProgress;
  }
  return Step::kNeedMore;
}

Http1RequestParser::Step Http1RequestParser::step_skip_line() {
  std::string_view data = pending();
  size_t nl = data.find('\n');
  if (nl == std::string_view::npos) {
    skip_bytes(data.size());
    return Step::kNeedMore;
  }
  skip_bytes(nl + 1);
  skipping_line_ = false;
  return Step::kProgress;
}

Http1RequestParser::Step Http1RequestParser::step_head_line(size_t line_end, std::vector<HttpRequest>& out,
                                                            std::vector<std::string>* raw_queries) {
  std::string_view data = pending();
  std::string_view line = without_cr(data.substr(line_start_, line_end - line_start_));
  if (line_start_ == 0) {
    if (!parse_request_line(data.substr(0, line_end))) {
      reject_first_line();
      return Step::kProgress;
    }
    resyncing_ = false;
    line_ends_.clear();  // a new head: its line ends are kept as they are found, so the block is split once
    line_ends_.push_back(line_end);
  } else if (line.empty()) {
    if (!start_request(data.substr(0, line_end + 1))) {
      skipping_line_ = true;  // skip the request line; the rest is searched for the next request line
      return Step::kProgress;
    }
    pos_ += line_end + 1;
    scan_ = line_start_ = 0;
    if (state_ == State::kHead) emit(out, raw_queries);
    return Step::kProgress;
  } else {
    line_ends_.push_back(line_end);
  }
  line_start_ = line_end + 1;
  scan_ = line_start_;
  return Step::kProgress;
}

bool Http1RequestParser::start_request(std::string_view block) {
  std::optional<RequestLine> request_line = parse_request_line(block.substr(0, line_ends_.front()));
  current_ = HttpRequest{};
  detail::take_spares(current_.headers, current_.body_prefix);
  current_.method = std::string(request_line->method);
  http1::detail::SplitTarget target = http1::detail::split_target(request_line->method, request_line->target);
  current_.path = std::move(target.path);
  current_.raw_target_query_keys_only = std::move(target.query_keys_only);
  current_.host = std::move(target.host);
  current_raw_query_ = std::move(target.raw_query);
  const bool parsed = parse_header_lines(block);
  if (line_ends_.capacity() > kTypicalHeadLines) std::vector<size_t>().swap(line_ends_);  // a huge head's list goes
  if (!parsed) return false;
  const HttpHeader* host = find_header(current_.headers, "host");
  if (current_.host.empty() && host != nullptr) current_.host = detail::to_lower(host->value);

  const std::optional<std::string_view> last_coding = http1::last_header_element(current_.headers, "transfer-encoding");
  if (last_coding) {
    if (!iequals(*last_coding, "chunked")) {
      fail("transfer-encoding does not end in chunked", false);
      return false;
    }
    chunked_.reset();
    state_ = State::kChunked;
    return true;
  }
  bool has_length = find_header(current_.headers, "content-length") != nullptr;
  std::optional<uint64_t> length = content_length(current_.headers);
  if (has_length && !length) {
    fail("invalid content-length", false);
    return false;
  }
  remaining_ = length.value_or(0);
  state_ = remaining_ > 0 ? State::kBody : State::kHead;
  return true;
}

// The header lines of a complete head, at the line ends step_head_line found (the request line's first).
bool Http1RequestParser::parse_header_lines(std::string_view block) {
  for (size_t i = 1; i < line_ends_.size(); ++i) {
    const size_t start = line_ends_[i - 1] + 1;
    if (const char* error = parse_header_line(without_cr(block.substr(start, line_ends_[i] - start)), current_.headers)) {
      fail(error, false);
      return false;
    }
  }
  return true;
}

Http1RequestParser::Step Http1RequestParser::step_body(std::vector<HttpRequest>& out,
                                                       std::vector<std::string>* raw_queries) {
  std::string_view data = pending();
  size_t take = static_cast<size_t>(std::min<uint64_t>(data.size(), remaining_));
  append_body(data.substr(0, take));
  pos_ += take;
  remaining_ -= take;
  if (remaining_ > 0) return Step::kNeedMore;
  emit(out, raw_queries);
  return Step::kProgress;
}

// One step of the chunked framing; the body's data goes to the request, trailer fields are dropped.
Http1RequestParser::Step Http1RequestParser::step_chunked(std::vector<HttpRequest>& out,
                                                          std::vector<std::string>* raw_queries) {
  using Event = http1::ChunkedFramer::Event;
  http1::ChunkedFramer::Step framed = chunked_.step(pending());
  switch (framed.event) {
    case Event::kNeedMore: return Step::kNeedMore;
    case Event::kError: fail(framed.error, false); return Step::kProgress;
    case Event::kTooLarge:
      fail(framed.error, true);
      skipping_line_ = true;
      return Step::kProgress;
    case Event::kData: append_body(framed.data); break;
    case Event::kFraming:
    case Event::kTrailer: break;
    case Event::kEnd:
      pos_ += framed.consumed;
      emit(out, raw_queries);
      return Step::kProgress;
  }
  pos_ += framed.consumed;
  return Step::kProgress;
}

void Http1RequestParser::append_body(std::string_view data) {
  size_t room = kMaxBodyPrefix - current_.body_prefix.size();
  current_.body_prefix.append(data.substr(0, room));
  if (data.size() > room) current_.body_truncated = true;
}

void Http1RequestParser::emit(std::vector<HttpRequest>& out, std::vector<std::string>* raw_queries) {
  if (current_.body_truncated) ++stats_.bodies_truncated;
  bool tunnel = switches_protocol(current_);
  out.push_back(std::move(current_));
  current_ = HttpRequest{};
  if (raw_queries != nullptr) {
    raw_queries->push_back(std::move(current_raw_query_));
    current_raw_query_.clear();
  } else {
    detail::wipe(current_raw_query_);
  }
  ++stats_.requests;
  state_ = State::kHead;
  scan_ = line_start_ = 0;
  if (tunnel) resyncing_ = true;  // the bytes that follow are another protocol unless the switch was refused
}

void Http1RequestParser::reject_first_line() {
  if (!resyncing_) fail("data is not an HTTP/1.x request", false);
  skipping_line_ = true;
  scan_ = line_start_ = 0;
}

void Http1RequestParser::fail(std::string_view what, bool oversized) {
  if (oversized) {
    ++stats_.oversized_headers;
    count_hit(limit_hits().http1_header_blocks);
  } else {
    ++stats_.parse_errors;
  }
  last_error_ = std::string(what);
  drop_request();
  state_ = State::kHead;
  resyncing_ = true;
  scan_ = line_start_ = 0;
}

void Http1RequestParser::skip_bytes(size_t count) {
  stats_.bytes_skipped += count;
  pos_ += count;
  scan_ = line_start_ = 0;
}

void Http1RequestParser::drop_request() {
  cleanse(current_);
  current_ = HttpRequest{};
  detail::wipe(current_raw_query_);
  remaining_ = 0;
  chunked_.reset();
}

// Drops the consumed prefix of buffer_, wiping the bytes it leaves behind.
void Http1RequestParser::compact() {
  if (pos_ == 0) return;
  http1::drop_consumed(buffer_, pos_, kReleaseCapacity);
  pos_ = 0;
}

bool Http1RequestParser::looks_like_http1_request(std::string_view first_bytes) {
  size_t nl = first_bytes.find('\n');
  if (nl != std::string_view::npos) return parse_request_line(first_bytes.substr(0, nl)).has_value();
  size_t space = first_bytes.find(' ');
  return request_line_prefix_ok(first_bytes) && space != std::string_view::npos && space + 1 < first_bytes.size();
}

bool Http1RequestParser::could_become_http1_request(std::string_view first_bytes) {
  return first_bytes.find('\n') == std::string_view::npos && request_line_prefix_ok(first_bytes);
}

void cleanse(HttpRequest& request) {
  for (HttpHeader& header : request.headers) {
    detail::wipe(header.value);
    http1::keep_value_storage(header.value);
  }
  request.headers.clear();
  detail::wipe(request.body_prefix);
}

}  // namespace credtrace::protocols
