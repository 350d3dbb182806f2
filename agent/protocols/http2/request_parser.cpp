// Incremental HTTP/2 client-stream parser: preface, frame layer, HPACK (nghttp2 inflater) and request assembly.
#include "protocols/http2/request_parser.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <utility>

#include "protocols/http1/header_fields.h"
#include "protocols/http1/request_target.h"
#include "protocols/http2/wiping_allocator.h"
#include "protocols/limit_hits.h"
#include "protocols/text.h"

namespace credtrace::protocols {
namespace {

constexpr size_t kFrameHeaderSize = 9;

constexpr uint8_t kTypeHeaders = 0x1;
constexpr uint8_t kTypePushPromise = 0x5;
constexpr uint8_t kTypeContinuation = 0x9;

constexpr uint8_t kFlagEndHeaders = 0x4;
constexpr uint8_t kFlagPadded = 0x8;
constexpr uint8_t kFlagPriority = 0x20;
constexpr size_t kPrioritySize = 5;

uint32_t read_u24(std::string_view bytes) {
  return (static_cast<uint32_t>(static_cast<uint8_t>(bytes[0])) << 16) |
         (static_cast<uint32_t>(static_cast<uint8_t>(bytes[1])) << 8) | static_cast<uint8_t>(bytes[2]);
}

uint32_t read_u31(std::string_view bytes) {
  uint32_t value = 0;
  for (size_t i = 0; i < 4; ++i) value = (value << 8) | static_cast<uint8_t>(bytes[i]);
  return value & 0x7fffffffu;
}

std::string_view as_view(const uint8_t* data, size_t length) {
  return std::string_view(reinterpret_cast<const char*>(data), length);
}

// "user:pass@host:port" -> "host:port" (HTTP/2 forbids userinfo in :authority; never keep it in host).
std::string_view strip_userinfo(std::string_view authority) {
  size_t at = authority.rfind('@');
  return at == std::string_view::npos ? authority : authority.substr(at + 1);
}

const HttpHeader* find_header(const std::vector<HttpHeader>& headers, std::string_view name) {
  for (const HttpHeader& header : headers) {
    if (header.name == name) return &header;
  }
  return nullptr;
}

}  // namespace

void Http2RequestParser::InflaterDeleter::operator()(nghttp2_hd_inflater* inflater) const {
  nghttp2_hd_inflate_del(inflater);
}

Http2RequestParser::Http2RequestParser() {
  nghttp2_hd_inflater* raw = nullptr;
  if (nghttp2_hd_inflate_new2(&raw, http2::wiping_allocator()) != 0 || raw == nullptr) {
    broken_ = true;
    return;
  }
  inflater_.reset(raw);
  // The peer's SETTINGS_HEADER_TABLE_SIZE is in the other direction: accept any size update up to our bound.
  nghttp2_hd_inflate_change_table_size(raw, kMaxDynamicTable);
}

Http2RequestParser::~Http2RequestParser() {
  detail::wipe(buffer_);
  reset_block();
}

void Http2RequestParser::feed(std::string_view bytes, MessageSink& sink) {
  detail::BatchLease<detail::RequestBatch> lease;
  detail::RequestBatch& batch = lease.get();
  feed(bytes, batch.requests, batch.raw_queries);
  detail::yield_requests(batch, sink);
}

void Http2RequestParser::finish(MessageSink&) {
  reset_block();
  detail::wipe(buffer_);
}

bool Http2RequestParser::could_become_preface(std::string_view first_bytes) {
  return first_bytes.size() < 3 && kPreface.starts_with(first_bytes);
}

bool Http2RequestParser::starts_with_preface(std::string_view first_bytes) {
  if (first_bytes.size() < 3) return false;
  size_t length = std::min(first_bytes.size(), kPreface.size());
  return first_bytes.substr(0, length) == kPreface.substr(0, length);
}

void Http2RequestParser::feed(std::string_view bytes, std::vector<HttpRequest>& out,
                              std::vector<std::string>& raw_queries) {
  while (!broken_ && (!bytes.empty() || (state_ == State::kPayload && frame_.length == 0))) {
    switch (state_) {
      case State::kPreface: consume_preface(bytes); break;
      case State::kFrameHeader: consume_frame_header(bytes); break;
      case State::kPayload: consume_payload(bytes, out, raw_queries); break;
      case State::kSkip: consume_skip(bytes); break;
    }
  }
  if (broken_) stats_.bytes_skipped += bytes.size();
}

void Http2RequestParser::gap(uint64_t missing_bytes) {
  if (missing_bytes == 0) return;
  ++stats_.gaps;
  if (!broken_) mark_broken();
}

// Hands out `need` bytes as one view: straight from the input when buffer_ is empty, else once buffer_ has them.
bool Http2RequestParser::take(std::string_view& bytes, size_t need, std::string_view& unit) {
  if (buffer_.empty() && bytes.size() >= need) {
    unit = bytes.substr(0, need);
    bytes.remove_prefix(need);
    return true;
  }
  size_t count = std::min(need - buffer_.size(), bytes.size());
  buffer_.append(bytes.data(), count);
  bytes.remove_prefix(count);
  if (buffer_.size() < need) return false;
  unit = buffer_;
  return true;
}

void Http2RequestParser::release_unit() { detail::wipe(buffer_); }

void Http2RequestParser::consume_preface(std::string_view& bytes) {
  size_t have = buffer_.size();
  size_t count = std::min(kPreface.size() - have, bytes.size());
  if (bytes.substr(0, count) != kPreface.substr(have, count)) {
    fail_frame();
    return;
  }
  buffer_.append(bytes.data(), count);
  bytes.remove_prefix(count);
  if (buffer_.size() < kPreface.size()) return;
  release_unit();
  state_ = State::kFrameHeader;
}

void Http2RequestParser::consume_frame_header(std::string_view& bytes) {
  std::string_view header;
  if (!take(bytes, kFrameHeaderSize, header)) return;
  frame_.length = read_u24(header);
  frame_.type = static_cast<uint8_t>(header[3]);
  frame_.flags = static_cast<uint8_t>(header[4]);
  frame_.stream_id = read_u31(header.substr(5));
  release_unit();
  ++stats_.frames;
  if (!start_frame()) fail_frame();
}

// Decides what to do with the frame whose header was just read; false on a framing violation.
bool Http2RequestParser::start_frame() {
  bool header_frame = frame_.type == kTypeHeaders || frame_.type == kTypeContinuation;
  if (in_block_ && (frame_.type != kTypeContinuation || frame_.stream_id != block_stream_)) return false;
  if (frame_.type == kTypeContinuation && !in_block_) return false;
  if (frame_.type == kTypePushPromise) return false;  // server-only, and it would carry a header block
  if (!header_frame) {
    skip_remaining_ = frame_.length;
    state_ = skip_remaining_ > 0 ? State::kSkip : State::kFrameHeader;
    return true;
  }
  if (frame_.type == kTypeHeaders) {
    if (frame_.stream_id == 0) return false;
    in_block_ = true;
    block_stream_ = frame_.stream_id;
    block_bytes_ = 0;
  }
  block_bytes_ += frame_.length;
  if (block_bytes_ > kMaxHeaderBlock) {
    count_hit(limit_hits().http2_header_blocks);
    return false;
  }
  state_ = State::kPayload;
  return true;
}

void Http2RequestParser::consume_payload(std::string_view& bytes, std::vector<HttpRequest>& out,
                                         std::vector<std::string>& raw_queries) {
  std::string_view payload;
  if (!take(bytes, frame_.length, payload)) return;
  std::string_view fragment = payload;
  if (frame_.type == kTypeHeaders && !header_fragment(payload, fragment)) {
    fail_frame();
    return;
  }
  bool final_fragment = (frame_.flags & kFlagEndHeaders) != 0;
  Inflated inflated = inflate(fragment, final_fragment);
  if (inflated != Inflated::kOk) {
    inflated == Inflated::kTooLarge ? fail_frame() : fail_hpack();
    return;
  }
  release_unit();
  state_ = State::kFrameHeader;
  if (final_fragment) finish_block(out, raw_queries);
}

void Http2RequestParser::consume_skip(std::string_view& bytes) {
  size_t count = static_cast<size_t>(std::min<uint64_t>(skip_remaining_, bytes.size()));
  bytes.remove_prefix(count);
  skip_remaining_ -= count;
  if (skip_remaining_ == 0) state_ = State::kFrameHeader;
}

// The header block fragment of a HEADERS payload: without pad length, priority fields and padding.
bool Http2RequestParser::header_fragment(std::string_view payload, std::string_view& fragment) const {
  size_t offset = 0;
  size_t padding = 0;
  if ((frame_.flags & kFlagPadded) != 0) {
    if (payload.empty()) return false;
    padding = static_cast<uint8_t>(payload[0]);
    offset = 1;
  }
  if ((frame_.flags & kFlagPriority) != 0) offset += kPrioritySize;
  if (offset + padding > payload.size()) return false;
  fragment = payload.substr(offset, payload.size() - offset - padding);
  return true;
}

// Runs one fragment through the connection's inflater; every decoded field goes to add_header().
Http2RequestParser::Inflated Http2RequestParser::inflate(std::string_view fragment, bool final_fragment) {
  const auto* in = reinterpret_cast<const uint8_t*>(fragment.data());
  size_t left = fragment.size();
  for (;;) {
    nghttp2_nv field{};
    int flags = 0;
    ssize_t used = nghttp2_hd_inflate_hd2(inflater_.get(), &field, &flags, in, left, final_fragment ? 1 : 0);
    if (used < 0) return Inflated::kHpackError;
    in += used;
    left -= static_cast<size_t>(used);
    bool emitted = (flags & NGHTTP2_HD_INFLATE_EMIT) != 0;
    if (emitted && !add_header(as_view(field.name, field.namelen), as_view(field.value, field.valuelen))) {
      return Inflated::kTooLarge;
    }
    if ((flags & NGHTTP2_HD_INFLATE_FINAL) != 0) {
      nghttp2_hd_inflate_end_headers(inflater_.get());
      return Inflated::kOk;
    }
    if (!emitted && left == 0) return Inflated::kOk;
  }
}

// Keeps one decoded field; false once the block's header list exceeds kMaxHeaderList.
bool Http2RequestParser::add_header(std::string_view name, std::string_view value) {
  decoded_bytes_ += name.size() + value.size() + 32;
  if (decoded_bytes_ > kMaxHeaderList) {
    count_hit(limit_hits().http2_header_lists);
    return false;
  }
  if (name.empty() || name.front() != ':') {
    http1::append_header(current_.headers, name, value);
    return true;
  }
  if (name == ":method") {
    current_.method.assign(value);
  } else if (name == ":path") {
    detail::wipe(pseudo_path_);
    pseudo_path_.assign(value);
  } else if (name == ":authority") {
    detail::wipe(pseudo_authority_);
    pseudo_authority_.assign(value);
  }
  return true;
}

// Emits the block's request if it carries :method (trailers and blocks without one are dropped), then resets.
void Http2RequestParser::finish_block(std::vector<HttpRequest>& out, std::vector<std::string>& raw_queries) {
  if (current_.method.empty()) {
    reset_block();
    return;
  }
  std::string_view target = current_.method == "CONNECT" ? pseudo_authority_ : pseudo_path_;
  http1::detail::SplitTarget split = http1::detail::split_target(current_.method, target);
  current_.path = std::move(split.path);
  current_.raw_target_query_keys_only = std::move(split.query_keys_only);
  const HttpHeader* host = find_header(current_.headers, "host");
  if (!pseudo_authority_.empty()) {
    current_.host = detail::to_lower(strip_userinfo(pseudo_authority_));
  } else if (host != nullptr) {
    current_.host = detail::to_lower(strip_userinfo(host->value));
  } else {
    current_.host = std::move(split.host);
  }
  out.push_back(std::move(current_));
  raw_queries.push_back(std::move(split.raw_query));
  detail::wipe(split.raw_query);
  ++stats_.requests;
  current_ = HttpRequest{};
  reset_block();
}

void Http2RequestParser::reset_block() {
  cleanse(current_);
  current_ = HttpRequest{};
  detail::take_spares(current_.headers, current_.body_prefix);
  detail::wipe(pseudo_path_);
  detail::wipe(pseudo_authority_);
  in_block_ = false;
  block_stream_ = 0;
  block_bytes_ = 0;
  decoded_bytes_ = 0;
}

void Http2RequestParser::fail_frame() {
  ++stats_.frame_errors;
  mark_broken();
}

void Http2RequestParser::fail_hpack() {
  ++stats_.hpack_errors;
  mark_broken();
}

// Drops everything buffered (wiped) and the inflater: the dynamic table can never be trusted again.
void Http2RequestParser::mark_broken() {
  broken_ = true;
  stats_.bytes_skipped += buffer_.size();
  detail::wipe(buffer_);
  reset_block();
  skip_remaining_ = 0;
  inflater_.reset();
}

}  // namespace credtrace::protocols
