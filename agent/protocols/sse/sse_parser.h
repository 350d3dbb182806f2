// Public API of the server-sent events parser (WHATWG HTML "event stream" framing): the text/event-stream bodies
// MCP servers answer Streamable HTTP requests with, and the GET streams of the older HTTP+SSE transport.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocols/stream_parser.h"

namespace credtrace::protocols {

// One dispatched event. `data` is a raw value (an MCP message may hold a secret): it is the sink's only during the
// call, and wiped when the call returns.
struct SseEvent {
  std::string type;  // the "event:" field; "message" when the event named none (as the spec dispatches it)
  std::string id;    // the last event ID ("id:" fields persist across events; "" when none was set)
  std::string data;  // the "data:" lines joined with '\n' (no final '\n')
  bool data_truncated = false;  // the data (or one of its lines) was longer than the bounds: `data` is a prefix
  uint64_t bytes = 0;           // bytes of the stream the event's lines took (line ends included)
};

struct SseLimits {
  size_t max_line = 4 * 1024 * 1024;  // a longer line is cut there (a data line: the event is marked truncated)
  size_t max_data = 4 * 1024 * 1024;  // data kept per event; the rest is counted, the event marked truncated
  size_t max_field = 256;             // event type and id kept (longer ones cut, counted)
};

// Every counter only ever grows. None holds stream bytes.
struct SseStats {
  uint64_t events = 0;            // events dispatched
  uint64_t empty_events = 0;      // blank lines that ended an event without data (not dispatched, per the spec)
  uint64_t comments = 0;          // lines starting with ':' (keep-alives)
  uint64_t unknown_fields = 0;    // lines of a field the spec ignores (not data, event, id, retry)
  uint64_t lines_cut = 0;         // lines over max_line (the rest of the line skipped)
  uint64_t events_truncated = 0;  // dispatched events whose data was cut (data_truncated)
  uint64_t fields_cut = 0;        // event types or ids over max_field
  uint64_t gaps = 0;              // on_gap() calls with missing bytes
  uint64_t bytes_missing = 0;     // bytes reported missing by on_gap()
  uint64_t bytes_skipped = 0;     // bytes discarded: after a gap up to the next blank line, partial events at finish()
  uint64_t partial_events_dropped = 0;  // events a gap or the end of the stream cut short
};

// Incremental event-stream parser: lines end with CRLF, LF or CR (a CRLF split across feeds is one line end); a
// leading UTF-8 BOM is skipped; ':' lines are comments; "field: value" with one leading space of the value removed;
// a blank line dispatches the event (when it has data). Any split of the input yields the same events. After a gap
// the partial event is dropped and parsing resumes after the next blank line. Never throws.
class SseParser final : public StreamParser {
 public:
  explicit SseParser(SseLimits limits = {}) : limits_(limits) {}
  SseParser(const SseParser&) = delete;
  SseParser& operator=(const SseParser&) = delete;
  ~SseParser() override;

  std::string_view protocol() const override { return "sse"; }
  // Events go to sink.on_sse_event, one call each.
  void feed(std::string_view bytes, MessageSink& sink) override;
  void on_gap(uint64_t missing_bytes) override;
  // The stream ended: a partial event is dropped (the spec discards it), counted.
  void finish(MessageSink& sink) override;

  const SseStats& stats() const { return stats_; }
  // Bytes held for the event being built and its partial line (bounded by the limits).
  size_t buffered() const { return line_.size() + event_.data.size(); }

 private:
  void end_line(MessageSink& sink);
  void process_line(std::string_view line, bool cut, MessageSink& sink);
  void process_field(std::string_view name, std::string_view value, bool cut);
  void dispatch(MessageSink& sink);
  void set_field(std::string& field, std::string_view value);
  void reset_event();

  SseLimits limits_;
  std::string line_;            // the partial line (up to max_line bytes)
  bool line_cut_ = false;       // the current line reached max_line: its rest is skipped
  uint64_t line_bytes_ = 0;     // bytes of the current line seen, cut part and line end included
  bool after_cr_ = false;       // the last byte was a CR: a following LF belongs to the same line end
  bool first_line_ = true;      // the stream's first line (a leading BOM is removed from it)
  bool resyncing_ = false;      // after a gap: skipping lines up to the next blank line
  bool has_data_ = false;       // a data field was seen in this event
  std::string last_id_;         // persists across events
  SseEvent event_;              // the event being built (data accumulated, type)
  SseStats stats_;
};

}  // namespace credtrace::protocols
