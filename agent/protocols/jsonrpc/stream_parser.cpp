// Newline-delimited JSON-RPC framing: line reassembly across feeds, oversize and gap resynchronisation, wiping.
#include "protocols/jsonrpc/stream_parser.h"

#include "protocols/text.h"

namespace credtrace::protocols {
namespace {

constexpr size_t kReleaseCapacity = 256 * 1024;  // buffers above this give their storage back once empty

constexpr std::string_view kJsonRpcMembers[] = {"jsonrpc", "id", "method", "params", "result", "error"};

bool is_jsonrpc_member(std::string_view name) {
  for (std::string_view member : kJsonRpcMembers) {
    if (member == name) return true;
  }
  return false;
}

// A first member name still open after this many bytes is none of kJsonRpcMembers.
bool close_too_far(size_t open_bytes) { return open_bytes > 9; }

bool blank(std::string_view line) { return line.find_first_not_of(" \t\r") == std::string_view::npos; }

// Wipes and empties a buffer, giving back large storage.
void release(std::string& buffer) {
  detail::wipe(buffer);
  if (buffer.capacity() > kReleaseCapacity) std::string().swap(buffer);
}

// Wipes the line buffer and the decoded values when a sink call returns, on every way out.
class LineWipe {
 public:
  LineWipe(std::string& line, std::string& scratch) : line_(line), scratch_(scratch) {}
  LineWipe(const LineWipe&) = delete;
  LineWipe& operator=(const LineWipe&) = delete;
  ~LineWipe() {
    release(line_);
    release(scratch_);
  }

 private:
  std::string& line_;
  std::string& scratch_;
};

}  // namespace

JsonRpcStreamParser::~JsonRpcStreamParser() {
  release(line_);
  release(scratch_);
}

void JsonRpcStreamParser::align_start(std::string_view bytes) {
  const size_t first = bytes.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return;  // judged on the first byte that is not whitespace
  aligned_ = true;
  if (bytes[first] == '{' || bytes[first] == '[') return;
  ++stats_.unaligned_starts;
  skipping_ = true;
}

void JsonRpcStreamParser::feed(std::string_view bytes, MessageSink& sink) {
  if (options_.start_mid_stream && !aligned_) align_start(bytes);
  while (!bytes.empty()) {
    const size_t nl = bytes.find('\n');
    const std::string_view part = bytes.substr(0, nl);
    if (skipping_) {
      stats_.bytes_skipped += part.size();
    } else if (nl != std::string_view::npos && line_.empty() && part.size() <= options_.max_line) {
      consume_line(part, sink);  // the whole line is in this feed: parsed in place, no copy
    } else {
      append_partial(part);
      if (nl != std::string_view::npos && !skipping_) consume_line(line_, sink);
    }
    if (nl == std::string_view::npos) return;
    if (skipping_) stats_.bytes_skipped += 1;
    skipping_ = false;
    bytes.remove_prefix(nl + 1);
  }
}

void JsonRpcStreamParser::append_partial(std::string_view part) {
  if (line_.size() + part.size() > options_.max_line) {
    ++stats_.oversize_lines;
    stats_.bytes_skipped += line_.size() + part.size();
    release(line_);
    skipping_ = true;
    return;
  }
  line_.append(part);
}

void JsonRpcStreamParser::drop_partial() {
  if (line_.empty()) return;
  ++stats_.partial_lines_dropped;
  stats_.bytes_skipped += line_.size();
  release(line_);
}

void JsonRpcStreamParser::on_gap(uint64_t missing_bytes) {
  if (missing_bytes == 0) return;
  ++stats_.gaps;
  stats_.bytes_missing += missing_bytes;
  drop_partial();
  skipping_ = true;  // the bytes after the gap may be the middle of a line: resume after the next '\n'
}

void JsonRpcStreamParser::finish(MessageSink& sink) {
  if (!skipping_ && !blank(line_)) {
    std::string_view line = line_;
    std::string scratch_probe;
    if (parse_jsonrpc_line(line, scratch_probe, options_.line).verdict == LineVerdict::kNotJson) {
      detail::wipe(scratch_probe);
      drop_partial();
    } else {
      detail::wipe(scratch_probe);
      consume_line(line_, sink);
    }
  }
  release(line_);
  skipping_ = false;
}

void JsonRpcStreamParser::consume_line(std::string_view line, MessageSink& sink) {
  LineWipe wipe_after(line_, scratch_);
  if (blank(line)) return;
  ++stats_.lines;
  ParsedLine parsed = parse_jsonrpc_line(line, scratch_, options_.line);
  if (parsed.invalid_utf8) ++stats_.invalid_utf8;
  switch (parsed.verdict) {
    case LineVerdict::kNotJson: ++stats_.not_json; return;
    case LineVerdict::kTooDeep: ++stats_.too_deep; return;
    case LineVerdict::kNotJsonRpcShape: ++stats_.not_messages; return;
    case LineVerdict::kMessages: break;
  }
  if (parsed.batch) ++stats_.batches;
  stats_.batch_dropped += parsed.batch_dropped;
  for (JsonRpcMessage& message : parsed.messages) {
    ++stats_.messages;
    if (message.kind == JsonRpcKind::kInvalid) ++stats_.invalid_messages;
    if (message.values_truncated) ++stats_.values_truncated;
    sink.on_jsonrpc(message);
  }
}

Detection detect_jsonrpc_stream(std::string_view first_bytes) {
  Detection detection;
  detection.verdict = Detection::Verdict::kNeedMore;
  constexpr std::string_view kSpace = " \t\r\n";
  size_t pos = first_bytes.find_first_not_of(kSpace);
  if (pos != std::string_view::npos && first_bytes[pos] == '[') pos = first_bytes.find_first_not_of(kSpace, pos + 1);
  if (pos == std::string_view::npos) return detection;
  if (first_bytes[pos] != '{') return Detection{};
  if (first_bytes.find("\"jsonrpc\"") == std::string_view::npos) {
    pos = first_bytes.find_first_not_of(kSpace, pos + 1);
    if (pos == std::string_view::npos) return detection;
    if (first_bytes[pos] != '"') return Detection{};
    const size_t close = first_bytes.find('"', pos + 1);
    if (close == std::string_view::npos) {
      if (close_too_far(first_bytes.size() - pos)) return Detection{};
      return detection;
    }
    if (!is_jsonrpc_member(first_bytes.substr(pos + 1, close - pos - 1))) return Detection{};
  }
  detection.verdict = Detection::Verdict::kParser;
  detection.parser = std::make_unique<JsonRpcStreamParser>();
  return detection;
}

}  // namespace credtrace::protocols
