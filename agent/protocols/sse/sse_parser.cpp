// Incremental server-sent events parser: line framing (CR, LF, CRLF), fields, dispatch, bounds, resync after gaps.
#include "protocols/sse/sse_parser.h"

#include <algorithm>

#include "protocols/text.h"

namespace credtrace::protocols {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

// Appends at most `room` bytes of `text` to `out`, growing it without leaving copies of its bytes behind.
void append_bounded(std::string& out, std::string_view text, size_t room) {
  text = text.substr(0, room);
  if (out.size() + text.size() > out.capacity()) {
    std::string grown;
    grown.reserve(std::max(out.capacity() * 2, out.size() + text.size()));
    grown.append(out);
    detail::wipe(out);
    out.swap(grown);
  }
  out.append(text);
}

}  // namespace

SseParser::~SseParser() {
  detail::wipe(line_);
  detail::wipe(event_.data);
}

void SseParser::feed(std::string_view bytes, MessageSink& sink) {
  if (bytes.empty()) return;
  size_t i = 0;
  if (after_cr_ && !bytes.empty() && bytes.front() == '\n') {  // the LF of a CRLF split across feeds
    ++event_.bytes;
    ++i;
  }
  after_cr_ = false;
  while (i < bytes.size()) {
    const size_t end = bytes.find_first_of("\r\n", i);
    const std::string_view part = bytes.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i);
    line_bytes_ += part.size();
    if (!line_cut_) {
      const size_t room = limits_.max_line - line_.size();
      append_bounded(line_, part, room);
      if (part.size() > room) line_cut_ = true;
    }
    if (end == std::string_view::npos) return;
    line_bytes_ += 1;
    i = end + 1;
    end_line(sink);
    if (bytes[end] != '\r') continue;
    if (i == bytes.size()) {
      after_cr_ = true;
    } else if (bytes[i] == '\n') {  // the LF of a CRLF: counted with what follows, as when the CRLF is split
      ++event_.bytes;
      ++i;
    }
  }
}

void SseParser::end_line(MessageSink& sink) {
  std::string_view line = line_;
  if (first_line_ && line.starts_with(kBom)) line.remove_prefix(kBom.size());
  first_line_ = false;
  event_.bytes += line_bytes_;
  if (line_cut_) ++stats_.lines_cut;
  if (resyncing_) {
    stats_.bytes_skipped += line_bytes_;
    if (line.empty() && !line_cut_) {
      resyncing_ = false;
      reset_event();
    }
  } else {
    process_line(line, line_cut_, sink);
  }
  detail::wipe(line_);
  line_cut_ = false;
  line_bytes_ = 0;
}

void SseParser::process_line(std::string_view line, bool cut, MessageSink& sink) {
  if (line.empty()) return dispatch(sink);
  if (line.front() == ':') return void(++stats_.comments);
  const size_t colon = line.find(':');
  std::string_view name = line.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
  if (value.starts_with(' ')) value.remove_prefix(1);
  process_field(name, value, cut);
}

void SseParser::process_field(std::string_view name, std::string_view value, bool cut) {
  if (name == "data") {
    std::string_view separator = has_data_ ? "\n" : "";
    const size_t room = limits_.max_data - event_.data.size();
    if (cut || separator.size() + value.size() > room) event_.data_truncated = true;
    append_bounded(event_.data, separator, room);
    append_bounded(event_.data, value, limits_.max_data - event_.data.size());
    has_data_ = true;
  } else if (name == "event") {
    set_field(event_.type, value);
  } else if (name == "id") {
    if (value.find('\0') == std::string_view::npos) set_field(last_id_, value);
  } else if (name != "retry") {
    ++stats_.unknown_fields;
  }
}

void SseParser::set_field(std::string& field, std::string_view value) {
  if (value.size() > limits_.max_field) ++stats_.fields_cut;
  field.assign(value.substr(0, limits_.max_field));
}

void SseParser::dispatch(MessageSink& sink) {
  if (!has_data_) {
    ++stats_.empty_events;
    return reset_event();
  }
  ++stats_.events;
  if (event_.data_truncated) ++stats_.events_truncated;
  if (event_.type.empty()) event_.type = "message";
  event_.id = last_id_;
  struct Wipe {
    SseParser& parser;
    ~Wipe() { parser.reset_event(); }
  } wipe{*this};
  sink.on_sse_event(event_);
}

void SseParser::reset_event() {
  detail::wipe(event_.data);
  event_.type.clear();
  event_.id.clear();
  event_.data_truncated = false;
  event_.bytes = 0;
  has_data_ = false;
}

void SseParser::on_gap(uint64_t missing_bytes) {
  if (missing_bytes == 0) return;
  ++stats_.gaps;
  stats_.bytes_missing += missing_bytes;
  if (!resyncing_ && (has_data_ || !event_.type.empty() || !line_.empty() || line_cut_)) ++stats_.partial_events_dropped;
  stats_.bytes_skipped += line_bytes_ + event_.bytes;
  detail::wipe(line_);
  line_cut_ = false;
  line_bytes_ = 0;
  after_cr_ = false;
  reset_event();
  resyncing_ = true;
}

void SseParser::finish(MessageSink& /*sink: a partial event is never dispatched*/) {
  if (!resyncing_ && (has_data_ || !event_.type.empty() || !line_.empty() || line_cut_)) ++stats_.partial_events_dropped;
  stats_.bytes_skipped += line_bytes_ + event_.bytes;
  detail::wipe(line_);
  line_cut_ = false;
  line_bytes_ = 0;
  after_cr_ = false;
  reset_event();
  resyncing_ = false;
  first_line_ = true;
}

}  // namespace credtrace::protocols
