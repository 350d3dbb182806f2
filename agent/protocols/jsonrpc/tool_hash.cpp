// Canonical hashing of tool definitions (name, description, inputSchema): sorted-key trees, every copy wiped.
#include "protocols/jsonrpc/tool_hash.h"

#include <algorithm>
#include <utility>

#include "common/digest.h"
#include "protocols/jsonrpc/json_scanner.h"
#include "protocols/jsonrpc/message.h"
#include "protocols/text.h"

namespace credtrace::protocols {
namespace {

using jsonrpc::JsonType;

// One JSON value; scalars hold their canonical text (strings re-encoded from their decoded form).
struct Node {
  JsonType type = JsonType::kNull;
  std::string text;
  std::vector<std::pair<std::string, Node>> members;  // objects: decoded keys, in input order
  std::vector<Node> elements;                         // arrays
};

void wipe_tree(Node& node) {
  detail::wipe(node.text);
  for (auto& [key, member] : node.members) {
    detail::wipe(key);
    wipe_tree(member);
  }
  for (Node& element : node.elements) wipe_tree(element);
}

// Builds the tree of one scanned text (depth bounded by the scan).
class TreeBuilder final : public jsonrpc::JsonHandler {
 public:
  TreeBuilder() = default;
  TreeBuilder(const TreeBuilder&) = delete;
  TreeBuilder& operator=(const TreeBuilder&) = delete;
  ~TreeBuilder() override {  // what an invalid text left half built
    for (Node& node : stack_) wipe_tree(node);
    for (std::string& key : keys_) detail::wipe(key);
    wipe_tree(root);
  }

  void begin_container(JsonType type, size_t) override {
    stack_.push_back(Node{type, {}, {}, {}});
  }
  void end_container(JsonType, size_t) override {
    Node node = std::move(stack_.back());
    stack_.pop_back();
    attach(std::move(node));
  }
  void key(std::string_view raw, bool) override {
    keys_.emplace_back();
    jsonrpc::unescape(raw, keys_.back());
  }
  void scalar(JsonType type, std::string_view raw, bool, size_t) override {
    Node node{type, {}, {}, {}};
    if (type == JsonType::kString) {
      std::string decoded;
      jsonrpc::unescape(raw, decoded);
      jsonrpc::append_json_string(decoded, node.text);
      detail::wipe(decoded);
    } else {
      node.text.assign(raw);
    }
    attach(std::move(node));
  }

  Node root;

 private:
  void attach(Node node) {
    if (stack_.empty()) {
      root = std::move(node);
    } else if (stack_.back().type == JsonType::kObject) {
      stack_.back().members.emplace_back(std::move(keys_.back()), std::move(node));
      keys_.pop_back();
    } else {
      stack_.back().elements.push_back(std::move(node));
    }
  }

  std::vector<Node> stack_;
  std::vector<std::string> keys_;
};

void serialize(const Node& node, std::string& out);

void serialize_members(std::vector<const std::pair<std::string, Node>*> members, std::string& out) {
  std::stable_sort(members.begin(), members.end(), [](auto* a, auto* b) { return a->first < b->first; });
  out += '{';
  for (size_t i = 0; i < members.size(); ++i) {
    if (i > 0) out += ',';
    jsonrpc::append_json_string(members[i]->first, out);
    out += ':';
    serialize(members[i]->second, out);
  }
  out += '}';
}

// Compact, object keys sorted (byte order), arrays in order.
void serialize(const Node& node, std::string& out) {
  if (node.type == JsonType::kObject) {
    std::vector<const std::pair<std::string, Node>*> members;
    for (const auto& member : node.members) members.push_back(&member);
    serialize_members(std::move(members), out);
  } else if (node.type == JsonType::kArray) {
    out += '[';
    for (size_t i = 0; i < node.elements.size(); ++i) {
      if (i > 0) out += ',';
      serialize(node.elements[i], out);
    }
    out += ']';
  } else {
    out += node.text;
  }
}

// The tool's name (decoded, valid UTF-8, capped) when it has a string "name"; "" otherwise.
std::string tool_name(const Node& tool) {
  for (const auto& [key, member] : tool.members) {
    if (key != "name" || member.type != JsonType::kString) continue;
    std::string name;
    jsonrpc::unescape(std::string_view(member.text).substr(1, member.text.size() - 2), name);
    if (name.size() > JsonRpcMessage::kMaxField) name.resize(JsonRpcMessage::kMaxField);
    std::string valid;
    jsonrpc::append_valid_utf8(name, valid);
    return valid;
  }
  return {};
}

std::string definition_hash(const Node& tool) {
  std::vector<const std::pair<std::string, Node>*> kept;
  for (const auto& member : tool.members) {
    if (member.first == "name" || member.first == "description" || member.first == "inputSchema") {
      kept.push_back(&member);
    }
  }
  std::string canonical;
  serialize_members(std::move(kept), canonical);
  std::string hash = common::sha256_hex(canonical);
  detail::wipe(canonical);
  return hash;
}

}  // namespace

std::vector<ToolDefinitionHash> hash_tool_definitions(std::string_view tools_json) {
  std::vector<ToolDefinitionHash> out;
  TreeBuilder builder;
  if (jsonrpc::scan_json(tools_json, builder).error != jsonrpc::ScanError::kNone) return out;
  if (builder.root.type == JsonType::kArray) {
    for (const Node& tool : builder.root.elements) {
      if (tool.type != JsonType::kObject) continue;
      std::string name = tool_name(tool);
      if (!name.empty()) out.push_back({std::move(name), definition_hash(tool)});
    }
  }
  return out;
}

}  // namespace credtrace::protocols
