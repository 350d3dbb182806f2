// Fuzz target for credtrace_protocols: the NDJSON JSON-RPC parser, call tracker and tool hashes (split-invariance).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_common.h"
#include "protocols/jsonrpc/call_tracker.h"
#include "protocols/jsonrpc/json_scanner.h"
#include "protocols/jsonrpc/stream_parser.h"
#include "protocols/jsonrpc/tool_hash.h"

namespace {

using credtrace::fuzz::check;
using namespace credtrace::protocols;

bool valid_utf8(const std::string& text) {
  std::string valid;
  jsonrpc::append_valid_utf8(text, valid);
  return valid == text;
}

class NullHandler final : public jsonrpc::JsonHandler {
 public:
  void begin_container(jsonrpc::JsonType, size_t) override {}
  void end_container(jsonrpc::JsonType, size_t) override {}
  void key(std::string_view, bool) override {}
  void scalar(jsonrpc::JsonType, std::string_view, bool, size_t) override {}
};

void check_message(const JsonRpcMessage& m) {
  for (const std::string* field : {&m.method, &m.name, &m.protocol_version, &m.client_name, &m.client_version,
                                   &m.server_name, &m.server_version}) {
    check(field->size() <= JsonRpcMessage::kMaxField, "metadata field over its cap");
    check(valid_utf8(*field), "metadata field not UTF-8");
  }
  check(valid_utf8(m.id) && valid_utf8(m.request_id) && valid_utf8(m.arguments_shape), "id or shape not UTF-8");
  NullHandler ignore;
  check(m.arguments_shape.empty() || jsonrpc::scan_json(m.arguments_shape, ignore).error == jsonrpc::ScanError::kNone,
        "shape is not JSON");
  check(m.bytes > 0, "message without bytes");
  check(m.kind != JsonRpcKind::kRequest || !m.id.empty(), "request without id");
  if (!m.tools_json.empty()) {
    for (const ToolDefinitionHash& tool : hash_tool_definitions(m.tools_json)) {
      check(tool.sha256.size() == 64 && !tool.name.empty(), "bad tool hash");
    }
  }
}

// Checks every message and keeps a summary of it.
class Recorder final : public MessageSink {
 public:
  void on_jsonrpc(JsonRpcMessage& message) override {
    check_message(message);
    std::string summary = std::string(kind_name(message.kind)) + "|" + message.id + "|" + message.method + "|" +
                          message.name + "|" + message.arguments_shape + "|" + std::to_string(message.bytes) + "|" +
                          std::to_string(message.values.size());
    for (const JsonRpcValue& value : message.values) summary += "|" + std::to_string(value.text.size());
    summaries.push_back(std::move(summary));
    if (tracker) tracker->on_message(side, message, ++now);
  }
  std::vector<std::string> summaries;
  CallTracker* tracker = nullptr;
  Side side = Side::kClient;
  uint64_t now = 0;
};

JsonRpcParserOptions options_for(uint8_t mode) {
  JsonRpcParserOptions options;
  options.max_line = (mode & 1) ? 64 : 1 << 20;
  options.line.max_depth = 2 + (mode >> 1) % 64;
  options.line.shape_depth = 1 + (mode >> 2) % 8;
  options.line.shape_entries = 1 + (mode >> 3) % 32;
  options.line.max_values = 1 + mode % 16;
  options.line.max_batch = 1 + mode % 4;
  return options;
}

}  // namespace

// First byte: options and the split stride; the rest is the stream.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const JsonRpcParserOptions options = options_for(mode);

  CallTrackerLimits limits;
  limits.max_pending = 1 + mode % 5;
  limits.timeout_ns = 1 + mode % 7;
  CallTracker tracker(limits, [](const ToolCall& call) {
    check(call.outcome != CallOutcome::kNoAnswer || call.no_answer != NoAnswerReason::kNone, "no_answer without reason");
  });

  Recorder whole;
  whole.tracker = &tracker;
  JsonRpcStreamParser whole_parser(options);
  whole_parser.feed(input, whole);
  whole_parser.finish(whole);

  Recorder split;
  JsonRpcStreamParser split_parser(options);
  const size_t stride = 1 + mode % 13;
  for (size_t offset = 0; offset < input.size(); offset += stride) split_parser.feed(input.substr(offset, stride), split);
  split_parser.finish(split);
  check(whole.summaries == split.summaries, "splitting the input changed the messages");
  check(whole_parser.stats().lines == split_parser.stats().lines, "splitting changed the line count");
  check(split_parser.buffered() == 0, "bytes held after finish");

  Recorder gapped;
  gapped.tracker = &tracker;
  gapped.side = Side::kServer;
  JsonRpcStreamParser gapped_parser(options);
  for (size_t offset = 0; offset < input.size(); offset += 2 * stride) {
    gapped_parser.feed(input.substr(offset, stride), gapped);
    gapped_parser.on_gap(stride);
    tracker.expire(offset);
  }
  gapped_parser.finish(gapped);
  check(gapped.summaries.size() <= whole.summaries.size() + 1, "gaps made messages appear");
  check(tracker.pending() <= limits.max_pending, "pending calls over the bound");
  tracker.end_session(UINT64_MAX);
  check(tracker.pending() == 0, "calls pending after the session ended");
  return 0;
}
