// Public API: the JSON-RPC 2.0 message model (MCP) a JSON-RPC parser yields, and parsing one line into messages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace credtrace::protocols {

enum class JsonRpcKind {
  kRequest,        // "method" and an "id" (number or string)
  kNotification,   // "method" without an "id"
  kResponse,       // "result" and an "id"
  kErrorResponse,  // "error" (an object) and an "id" (null allowed)
  kInvalid,        // JSON, but not a JSON-RPC 2.0 message ("jsonrpc" missing or not "2.0", members missing or both)
};

std::string_view kind_name(JsonRpcKind kind);

// Where a string value of a message was: the detectors tell which side of the model boundary it crossed.
enum class ValueOrigin {
  kArguments,  // params.arguments (tools/call, prompts/get)
  kParams,     // elsewhere in params (a resources/read uri, sampling messages, …)
  kResult,     // anywhere in result (tool output, resource contents, …)
  kError,      // anywhere in error (message, data)
};

struct JsonRpcValue {
  std::string_view text;  // decoded; valid only during MessageSink::on_jsonrpc
  ValueOrigin origin;
};

// One message. Text members are metadata, never argument or result values: they are decoded, capped in length
// (kMaxField bytes) and valid UTF-8. Raw values are offered only through `values`, which point into the parser's
// buffers and are wiped when the sink call returns.
struct JsonRpcMessage {
  static constexpr size_t kMaxField = 256;

  JsonRpcKind kind = JsonRpcKind::kInvalid;
  std::string id;      // canonical JSON text: 7, "abc" (quoted, as JSON); "null" for an error response to no id
  std::string method;  // requests and notifications
  std::string name;    // params.name of tools/call (the tool) and prompts/get (the prompt)
  std::string request_id;  // notifications/cancelled: params.requestId, canonical like id
  // The shape of params.arguments: key names (sorted) and JSON types, nested up to kShapeDepth, never a value:
  // {"options":{"recursive":"boolean"},"path":"string"}; arrays list their distinct element shapes: ["string"].
  // "" when the message has no params.arguments. A key that is or holds a credential is written "<redacted>".
  std::string arguments_shape;
  bool arguments_shape_truncated = false;  // more keys, element shapes or depth than the bounds

  std::optional<bool> is_error;       // result.isError
  std::optional<int64_t> error_code;  // error.code (an integer)

  // initialize: request params.protocolVersion / response result.protocolVersion.
  std::string protocol_version;
  std::string client_name, client_version;  // params.clientInfo (initialize request)
  std::string server_name, server_version;  // result.serverInfo (initialize response)
  std::vector<std::string> capabilities;    // keys of params.capabilities / result.capabilities, sorted

  // result.tools of a response as raw JSON (a tools/list answer; tool definitions are not values); valid only during
  // the sink call. "" when absent or not an array.
  std::string_view tools_json;

  uint64_t bytes = 0;         // size of the message on the wire (a batch element: its own span)
  bool in_batch = false;      // an element of a JSON array of messages
  bool invalid_utf8 = false;  // a string of the line held bytes that are not UTF-8
  std::vector<JsonRpcValue> values;  // string values under params, result and error (see JsonRpcValue)
  bool values_truncated = false;     // more string values than the parser offers per line
};

// What became of one line.
enum class LineVerdict {
  kMessages,  // one message (a JSON object) or a batch (a non-empty array of them): see `messages`
  kNotJson,   // not one JSON value
  kTooDeep,   // nested deeper than the depth bound
  kNotJsonRpcShape,  // JSON, but neither an object nor a non-empty array
};

struct ParsedLine {
  LineVerdict verdict = LineVerdict::kNotJson;
  bool batch = false;
  bool invalid_utf8 = false;
  std::vector<JsonRpcMessage> messages;  // kInvalid ones included
  size_t batch_dropped = 0;              // batch elements past LineLimits::max_batch
};

struct LineLimits {
  int max_depth = 64;          // containers nested deeper make the line kTooDeep
  size_t max_values = 65536;   // string values offered per line
  size_t shape_depth = 6;      // levels of params.arguments described (deeper containers: "object" / "array")
  size_t shape_entries = 256;  // keys and element shapes described in one arguments shape
  size_t max_batch = 1024;     // messages yielded from one batch; further elements are counted, not yielded
};

// Parses one line (without its '\n'; a trailing '\r' is ignored). Values point into `line` or, when they held
// escapes, into `scratch` (appended to; reserved once to the line's size so views stay valid): the caller keeps both
// alive while it uses the messages and wipes `scratch` afterwards. Never throws on any input.
ParsedLine parse_jsonrpc_line(std::string_view line, std::string& scratch, const LineLimits& limits = {});

}  // namespace credtrace::protocols
