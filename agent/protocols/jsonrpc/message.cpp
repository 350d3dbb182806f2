// Parsing one NDJSON line into JSON-RPC messages: classification, MCP fields, arguments shape and string values.
#include "protocols/jsonrpc/message.h"

#include <algorithm>
#include <charconv>
#include <optional>

#include "protocols/jsonrpc/json_scanner.h"
#include "protocols/jsonrpc/shape_builder.h"
#include "protocols/text.h"

namespace credtrace::protocols {
namespace {

using jsonrpc::JsonType;

constexpr size_t kMaxIdBytes = 256;       // a longer id makes the message invalid (it could not be paired safely)
constexpr size_t kMaxCapabilities = 64;

// What a value is to the message, from its parent and its member name.
enum class Role {
  kBatch, kMessage, kParams, kResult, kError, kArguments, kClientInfo, kServerInfo, kCapabilities, kTools,
  kJsonrpc, kId, kMethod, kName, kProtocolVersion, kIsError, kInfoName, kInfoVersion, kErrorCode, kRequestId, kOther,
};

enum class Region { kNone, kParams, kArguments, kResult, kError };

enum class IdState { kAbsent, kValid, kNull, kInvalid };

struct Member {
  std::string_view name;
  Role role;
};

constexpr Member kMessageMembers[] = {{"jsonrpc", Role::kJsonrpc}, {"id", Role::kId},         {"method", Role::kMethod},
                                      {"params", Role::kParams},   {"result", Role::kResult}, {"error", Role::kError}};
constexpr Member kParamsMembers[] = {{"name", Role::kName},
                                     {"requestId", Role::kRequestId},
                                     {"arguments", Role::kArguments},
                                     {"clientInfo", Role::kClientInfo},
                                     {"protocolVersion", Role::kProtocolVersion},
                                     {"capabilities", Role::kCapabilities}};
constexpr Member kResultMembers[] = {{"isError", Role::kIsError},
                                     {"serverInfo", Role::kServerInfo},
                                     {"protocolVersion", Role::kProtocolVersion},
                                     {"capabilities", Role::kCapabilities},
                                     {"tools", Role::kTools}};
constexpr Member kInfoMembers[] = {{"name", Role::kInfoName}, {"version", Role::kInfoVersion}};
constexpr Member kErrorMembers[] = {{"code", Role::kErrorCode}};

template <size_t N>
Role lookup(const Member (&members)[N], std::string_view name) {
  for (const Member& member : members) {
    if (member.name == name) return member.role;
  }
  return Role::kOther;
}

Role member_role(Role parent, std::string_view name) {
  switch (parent) {
    case Role::kMessage: return lookup(kMessageMembers, name);
    case Role::kParams: return lookup(kParamsMembers, name);
    case Role::kResult: return lookup(kResultMembers, name);
    case Role::kClientInfo:
    case Role::kServerInfo: return lookup(kInfoMembers, name);
    case Role::kError: return lookup(kErrorMembers, name);
    default: return Role::kOther;
  }
}

Region region_of(Role role, Region inherited) {
  switch (role) {
    case Role::kParams: return Region::kParams;
    case Role::kArguments: return Region::kArguments;
    case Role::kResult: return Region::kResult;
    case Role::kError: return Region::kError;
    case Role::kMessage:
    case Role::kBatch: return Region::kNone;
    default: return inherited;
  }
}

ValueOrigin origin_of(Region region) {
  switch (region) {
    case Region::kArguments: return ValueOrigin::kArguments;
    case Region::kResult: return ValueOrigin::kResult;
    case Region::kError: return ValueOrigin::kError;
    default: return ValueOrigin::kParams;
  }
}

// Decoded, valid UTF-8, at most JsonRpcMessage::kMaxField bytes (cut at a character boundary).
std::string field_text(std::string_view raw, bool escaped) {
  std::string decoded;  // the whole raw string: cutting it first could split an escape
  if (escaped) jsonrpc::unescape(raw, decoded);
  std::string out;
  jsonrpc::append_valid_utf8(escaped ? std::string_view(decoded) : raw.substr(0, JsonRpcMessage::kMaxField), out);
  if (out.size() > JsonRpcMessage::kMaxField) {
    size_t end = JsonRpcMessage::kMaxField;
    while (end > 0 && (static_cast<unsigned char>(out[end]) & 0xC0) == 0x80) --end;
    out.resize(end);
  }
  return out;
}

// The canonical text of an id: a number as written, a string as JSON (decoded, re-encoded), "null"; nullopt for any
// other type or an id over kMaxIdBytes.
std::optional<std::string> canonical_id(JsonType type, std::string_view raw, bool escaped) {
  if (type == JsonType::kNull) return std::string("null");
  if ((type != JsonType::kString && type != JsonType::kNumber) || raw.size() > kMaxIdBytes) return std::nullopt;
  if (type == JsonType::kNumber) return std::string(raw);
  std::string decoded;
  if (escaped) jsonrpc::unescape(raw, decoded);
  std::string id;
  jsonrpc::append_json_string(escaped ? std::string_view(decoded) : raw, id);
  return id;
}

// The message being built from the events of one JSON object (or a batch element of another type).
struct MessageState {
  JsonRpcMessage message;
  size_t start = 0;
  bool is_object = false;
  bool jsonrpc_ok = false;
  bool has_method = false;
  bool has_result = false;
  bool has_error = false;
  IdState id = IdState::kAbsent;
};

JsonRpcKind classify(const MessageState& state) {
  if (!state.is_object || !state.jsonrpc_ok || state.id == IdState::kInvalid) return JsonRpcKind::kInvalid;
  if (state.has_method) {
    if (state.has_result || state.has_error) return JsonRpcKind::kInvalid;
    if (state.id == IdState::kAbsent) return JsonRpcKind::kNotification;
    return state.id == IdState::kValid ? JsonRpcKind::kRequest : JsonRpcKind::kInvalid;
  }
  if (state.has_result == state.has_error) return JsonRpcKind::kInvalid;
  if (state.has_result) return state.id == IdState::kValid ? JsonRpcKind::kResponse : JsonRpcKind::kInvalid;
  return state.id == IdState::kAbsent ? JsonRpcKind::kInvalid : JsonRpcKind::kErrorResponse;
}

// Only what the kind and method make meaningful is kept.
void keep_meaningful(JsonRpcMessage& message) {
  const bool request = message.kind == JsonRpcKind::kRequest;
  const bool response = message.kind == JsonRpcKind::kResponse;
  if (!(request && (message.method == "tools/call" || message.method == "prompts/get"))) message.name.clear();
  if (!(request && message.method == "initialize")) {
    message.client_name.clear();
    message.client_version.clear();
    if (!response) {
      message.protocol_version.clear();
      message.capabilities.clear();
    }
  }
  if (!response) {
    message.server_name.clear();
    message.server_version.clear();
    message.is_error.reset();
    message.tools_json = {};
  }
  if (message.kind != JsonRpcKind::kErrorResponse) message.error_code.reset();
  if (!(message.kind == JsonRpcKind::kNotification && message.method == "notifications/cancelled")) {
    message.request_id.clear();
  }
  std::sort(message.capabilities.begin(), message.capabilities.end());
}

// Builds the messages of one line from the scanner's events.
class LineBuilder final : public jsonrpc::JsonHandler {
 public:
  LineBuilder(std::string_view line, Role root, std::string& scratch, const LineLimits& limits, ParsedLine& out)
      : line_(line),
        root_(root),
        scratch_(scratch),
        limits_(limits),
        out_(out),
        shape_(limits.shape_depth, limits.shape_entries) {}

  void begin_container(JsonType type, size_t offset) override {
    const Role role = next_role();
    const Region region = region_of(role, frames_.empty() ? Region::kNone : frames_.back().region);
    if (role == Role::kMessage) start_message(offset, type == JsonType::kObject);
    if (region == Region::kArguments) shape_.begin(type);
    frames_.push_back(Frame{type, role, region, offset, {}, false});
  }

  void end_container(JsonType type, size_t end) override {
    const Frame frame = frames_.back();
    frames_.pop_back();
    if (frame.region == Region::kArguments) shape_.end();
    if (frame.role == Role::kArguments) take_shape();
    if (frame.role == Role::kTools && type == JsonType::kArray) {
      state_.message.tools_json = line_.substr(frame.start, end - frame.start);
    }
    if (frame.role == Role::kId) state_.id = IdState::kInvalid;
    if (frame.role == Role::kResult) state_.has_result = true;
    if (frame.role == Role::kError) state_.has_error = type == JsonType::kObject;
    if (frame.role == Role::kMessage) finish_message(end);
  }

  void key(std::string_view raw, bool escaped) override {
    Frame& frame = frames_.back();
    frame.key = raw;
    frame.key_escaped = escaped;
    if (frame.region == Region::kArguments) {
      std::string name = decoded_key(frame);
      shape_.key(name);
      detail::wipe(name);  // a key name could be a value in disguise
    }
    if (frame.role == Role::kCapabilities && state_.message.capabilities.size() < kMaxCapabilities) {
      state_.message.capabilities.push_back(field_text(raw, escaped));
    }
  }

  void scalar(JsonType type, std::string_view raw, bool escaped, size_t offset) override {
    const Role role = next_role();
    const Region region = region_of(role, frames_.empty() ? Region::kNone : frames_.back().region);
    if (role == Role::kMessage) {
      start_message(offset, false);
      finish_message(offset + raw.size() + (type == JsonType::kString ? 2 : 0));
      return;
    }
    if (region == Region::kArguments) shape_.scalar(type);
    if (role == Role::kArguments) take_shape();
    if (role == Role::kResult) state_.has_result = true;
    if (type == JsonType::kString && region != Region::kNone) offer_value(raw, escaped, region);
    field(role, type, raw, escaped);
  }

 private:
  struct Frame {
    JsonType type;
    Role role;
    Region region;
    size_t start;
    std::string_view key;
    bool key_escaped;
  };

  // The role of the value that starts now, from the innermost container and its pending member name.
  Role next_role() {
    if (frames_.empty()) return root_;
    const Frame& parent = frames_.back();
    if (parent.type == JsonType::kArray) return parent.role == Role::kBatch ? Role::kMessage : Role::kOther;
    if (!parent.key_escaped) return member_role(parent.role, parent.key);
    std::string name;
    jsonrpc::unescape(parent.key, name);
    return member_role(parent.role, name);
  }

  std::string decoded_key(const Frame& frame) {
    std::string name;
    if (frame.key_escaped) {
      jsonrpc::unescape(frame.key, name);
    } else {
      name.assign(frame.key);
    }
    return name;
  }

  void start_message(size_t offset, bool is_object) {
    state_ = MessageState{};
    state_.start = offset;
    state_.is_object = is_object;
  }

  void finish_message(size_t end) {
    state_.message.kind = classify(state_);
    state_.message.bytes = end - state_.start;
    keep_meaningful(state_.message);
    if (out_.messages.size() < std::max<size_t>(1, limits_.max_batch)) {
      out_.messages.push_back(std::move(state_.message));
    } else {
      ++out_.batch_dropped;
    }
    state_ = MessageState{};
  }

  void take_shape() {
    if (!shape_.done()) return;
    state_.message.arguments_shape = shape_.take();
    state_.message.arguments_shape_truncated = shape_.truncated();
    shape_ = jsonrpc::ShapeBuilder(limits_.shape_depth, limits_.shape_entries);
  }

  void offer_value(std::string_view raw, bool escaped, Region region) {
    if (values_offered_ >= limits_.max_values) {
      state_.message.values_truncated = true;
      return;
    }
    ++values_offered_;
    std::string_view text = raw;
    if (escaped) {
      if (!scratch_reserved_) {
        scratch_.reserve(scratch_.size() + line_.size());  // decoded values never outgrow the line: views stay valid
        scratch_reserved_ = true;
      }
      const size_t start = scratch_.size();
      jsonrpc::unescape(raw, scratch_);
      text = std::string_view(scratch_).substr(start);
    }
    state_.message.values.push_back(JsonRpcValue{text, origin_of(region)});
  }

  void field(Role role, JsonType type, std::string_view raw, bool escaped) {
    JsonRpcMessage& m = state_.message;
    const bool is_string = type == JsonType::kString;
    switch (role) {
      case Role::kJsonrpc: state_.jsonrpc_ok = is_string && raw == "2.0"; break;
      case Role::kId: set_id(type, raw, escaped); break;
      case Role::kMethod:
        state_.has_method = is_string;
        if (is_string) m.method = field_text(raw, escaped);
        break;
      case Role::kName: if (is_string) m.name = field_text(raw, escaped); break;
      case Role::kProtocolVersion: if (is_string) m.protocol_version = field_text(raw, escaped); break;
      case Role::kIsError: if (type == JsonType::kBoolean) m.is_error = raw == "true"; break;
      case Role::kInfoName:
      case Role::kInfoVersion: set_info(role, is_string, raw, escaped); break;
      case Role::kErrorCode: set_error_code(type, raw); break;
      case Role::kRequestId:
        if (type != JsonType::kNull) m.request_id = canonical_id(type, raw, escaped).value_or("");
        break;
      default: break;
    }
  }

  void set_id(JsonType type, std::string_view raw, bool escaped) {
    std::optional<std::string> id = canonical_id(type, raw, escaped);
    state_.id = !id ? IdState::kInvalid : type == JsonType::kNull ? IdState::kNull : IdState::kValid;
    state_.message.id = id.value_or("");
  }

  void set_info(Role role, bool is_string, std::string_view raw, bool escaped) {
    if (!is_string) return;
    const bool client = frames_.back().role == Role::kClientInfo;
    JsonRpcMessage& m = state_.message;
    std::string& target = role == Role::kInfoName ? (client ? m.client_name : m.server_name)
                                                  : (client ? m.client_version : m.server_version);
    target = field_text(raw, escaped);
  }

  void set_error_code(JsonType type, std::string_view raw) {
    if (type != JsonType::kNumber) return;
    int64_t code = 0;
    auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), code);
    if (ec == std::errc() && end == raw.data() + raw.size()) state_.message.error_code = code;
  }

  std::string_view line_;
  Role root_;
  std::string& scratch_;
  const LineLimits& limits_;
  ParsedLine& out_;
  std::vector<Frame> frames_;
  MessageState state_;
  jsonrpc::ShapeBuilder shape_;
  size_t values_offered_ = 0;
  bool scratch_reserved_ = false;
};

// The top-level value decides: an object is a message, an array a batch.
Role root_role(std::string_view line) {
  size_t first = line.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return Role::kOther;
  if (line[first] == '{') return Role::kMessage;
  if (line[first] == '[') return Role::kBatch;
  return Role::kOther;
}

}  // namespace

std::string_view kind_name(JsonRpcKind kind) {
  switch (kind) {
    case JsonRpcKind::kRequest: return "request";
    case JsonRpcKind::kNotification: return "notification";
    case JsonRpcKind::kResponse: return "response";
    case JsonRpcKind::kErrorResponse: return "error_response";
    case JsonRpcKind::kInvalid: return "invalid";
  }
  return "invalid";
}

ParsedLine parse_jsonrpc_line(std::string_view line, std::string& scratch, const LineLimits& limits) {
  if (line.ends_with('\r')) line.remove_suffix(1);
  ParsedLine out;
  const Role root = root_role(line);
  LineBuilder builder(line, root, scratch, limits, out);
  const jsonrpc::ScanResult scan = jsonrpc::scan_json(line, builder, limits.max_depth);
  out.invalid_utf8 = scan.invalid_utf8;
  if (scan.error != jsonrpc::ScanError::kNone) {
    out.messages.clear();
    out.verdict = scan.error == jsonrpc::ScanError::kTooDeep ? LineVerdict::kTooDeep : LineVerdict::kNotJson;
    return out;
  }
  out.batch = root == Role::kBatch;
  if (root == Role::kOther || out.messages.empty()) {
    out.messages.clear();
    out.verdict = LineVerdict::kNotJsonRpcShape;
    return out;
  }
  for (JsonRpcMessage& message : out.messages) {
    message.in_batch = out.batch;
    message.invalid_utf8 = scan.invalid_utf8;
  }
  out.verdict = LineVerdict::kMessages;
  return out;
}

}  // namespace credtrace::protocols
