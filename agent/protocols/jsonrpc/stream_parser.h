// Public API of the newline-delimited JSON-RPC parser (MCP stdio): one direction of one stream, one message a line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocols/jsonrpc/message.h"
#include "protocols/stream_parser.h"

namespace credtrace::protocols {

struct JsonRpcParserOptions {
  size_t max_line = 4 * 1024 * 1024;  // longer lines are skipped up to their '\n' and counted (oversize_lines)
  // The capture may begin inside a line (a pipe listed after its process already read part of it): unless the first
  // byte that is not whitespace opens a JSON value ('{' or '['), everything up to the first '\n' is skipped and
  // counted (unaligned_starts).
  bool start_mid_stream = false;
  LineLimits line;
};

// Every counter only ever grows. None holds stream bytes.
struct JsonRpcParserStats {
  uint64_t lines = 0;             // complete non-blank lines parsed
  uint64_t messages = 0;          // messages yielded (each batch element counts), kInvalid ones included
  uint64_t invalid_messages = 0;  // of them, JSON that is not a JSON-RPC 2.0 message (kind kInvalid)
  uint64_t batches = 0;           // lines that were a JSON array of messages
  uint64_t not_json = 0;          // lines that are not one JSON value (binary, truncated, garbage)
  uint64_t too_deep = 0;          // lines nested deeper than LineLimits::max_depth
  uint64_t not_messages = 0;      // JSON lines neither an object nor a non-empty array
  uint64_t invalid_utf8 = 0;      // parsed lines whose strings held bytes that are not UTF-8 (tolerated)
  uint64_t oversize_lines = 0;    // lines over max_line (skipped)
  uint64_t bytes_skipped = 0;     // bytes discarded: oversize lines, a partial line at a gap or at finish(), and
                                  // the rest of the line after a gap (up to and with its '\n')
  uint64_t gaps = 0;              // on_gap() calls with missing bytes
  uint64_t bytes_missing = 0;     // bytes reported missing by on_gap()
  uint64_t partial_lines_dropped = 0;  // partial lines a gap or finish() cut short
  uint64_t values_truncated = 0;  // messages with more string values than LineLimits::max_values per line
  uint64_t batch_dropped = 0;     // batch elements past LineLimits::max_batch (not yielded)
  uint64_t unaligned_starts = 0;  // streams whose capture began inside a line (start_mid_stream)
};

// Newline-delimited JSON-RPC 2.0 (MCP stdio, and later the bodies of Streamable HTTP): every '\n'-terminated line
// ('\r\n' tolerated) is one message or a batch; feeds may split it anywhere. Never guesses: after a gap the partial
// line is dropped and parsing resumes after the next '\n'; a line over max_line is skipped the same way. Messages go
// to sink.on_jsonrpc one by one; their values and the line they point into are wiped when the call returns.
class JsonRpcStreamParser final : public StreamParser {
 public:
  explicit JsonRpcStreamParser(JsonRpcParserOptions options = {}) : options_(options) {}
  JsonRpcStreamParser(const JsonRpcStreamParser&) = delete;
  JsonRpcStreamParser& operator=(const JsonRpcStreamParser&) = delete;
  ~JsonRpcStreamParser() override;

  std::string_view protocol() const override { return "jsonrpc"; }
  void feed(std::string_view bytes, MessageSink& sink) override;
  void on_gap(uint64_t missing_bytes) override;
  // A last line without '\n' is yielded when it is complete JSON (the writer closed after it); otherwise dropped.
  void finish(MessageSink& sink) override;

  const JsonRpcParserStats& stats() const { return stats_; }
  // Bytes of a partial line held until its '\n' (wiped when released).
  size_t buffered() const { return line_.size(); }

 private:
  void consume_line(std::string_view line, MessageSink& sink);
  void append_partial(std::string_view part);
  void drop_partial();
  void align_start(std::string_view bytes);

  JsonRpcParserOptions options_;
  std::string line_;     // the partial line so far (no '\n')
  std::string scratch_;  // decoded values of the line being yielded
  bool skipping_ = false;  // discarding up to the next '\n' (after a gap or an oversize line)
  bool aligned_ = false;   // the start of the stream was judged (start_mid_stream)
  JsonRpcParserStats stats_;
};

// Detection for a stream that may carry NDJSON JSON-RPC (a stdio pipe of an MCP server): kParser when the first bytes
// are an object, or a batch's first object, whose first member is a JSON-RPC one (jsonrpc, id, method, params,
// result, error; SDKs write "jsonrpc" first or after params) or that holds a "jsonrpc" member name; kNeedMore while
// too short to tell (whitespace, "{", "[{\"me"); kUnsupported otherwise. Decides within the first member name, well
// inside streams::Stream::kMaxDetectBytes. A false positive costs only counted non-messages: every line is checked.
Detection detect_jsonrpc_stream(std::string_view first_bytes);

}  // namespace credtrace::protocols
