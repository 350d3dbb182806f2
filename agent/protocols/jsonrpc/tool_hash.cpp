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
  std::vector<std::string> keys;  // objects: decoded member names, in input order (parallel to children)
  std::vector<Node> children;     // object members or array elements
};

void wipe_tree(Node& node) {
  detail::wipe(node.text);
  for (std::string& key : node.keys) detail::wipe(key);
  for (Node& child : node.children) wipe_tree(child);
}

// An object's members as (name, value) pointers, to sort or filter without copying.
using Members = std::vector<std::pair<const std::string*, const Node*>>;

Members members_of(const Node& object) {
  Members members;
  for (size_t i = 0; i < object.children.size() && i < object.keys.size(); ++i) {
    members.emplace_back(&object.keys[i], &object.children[i]);
  }
  return members;
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
      return;
    }
    if (stack_.back().type == JsonType::kObject) {
      stack_.back().keys.push_back(std::move(keys_.back()));
      keys_.pop_back();
    }
    stack_.back().children.push_back(std::move(node));
  }

  std::vector<Node> stack_;
  std::vector<std::string> keys_;
};

void serialize(const Node& node, std::string& out);

void serialize_members(Members members, std::string& out) {
  std::stable_sort(members.begin(), members.end(), [](const auto& a, const auto& b) { return *a.first < *b.first; });
  out += '{';
  for (size_t i = 0; i < members.size(); ++i) {
    if (i > 0) out += ',';
    jsonrpc::append_json_string(*members[i].first, out);
    out += ':';
    serialize(*members[i].second, out);
  }
  out += '}';
}

// Compact, object keys sorted (byte order), arrays in order.
void serialize(const Node& node, std::string& out) {
  if (node.type == JsonType::kObject) {
    serialize_members(members_of(node), out);
  } else if (node.type == JsonType::kArray) {
    out += '[';
    for (size_t i = 0; i < node.children.size(); ++i) {
      if (i > 0) out += ',';
      serialize(node.children[i], out);
    }
    out += ']';
  } else {
    out += node.text;
  }
}

// The tool's name (decoded, valid UTF-8, capped) when it has a string "name"; "" otherwise.
std::string tool_name(const Node& tool) {
  for (const auto& [key, member] : members_of(tool)) {
    if (*key != "name" || member->type != JsonType::kString) continue;
    std::string name;
    jsonrpc::unescape(std::string_view(member->text).substr(1, member->text.size() - 2), name);
    if (name.size() > JsonRpcMessage::kMaxField) name.resize(JsonRpcMessage::kMaxField);
    std::string valid;
    jsonrpc::append_valid_utf8(name, valid);
    return valid;
  }
  return {};
}

std::string definition_hash(const Node& tool) {
  Members kept;
  for (const auto& member : members_of(tool)) {
    if (*member.first == "name" || *member.first == "description" || *member.first == "inputSchema") {
      kept.push_back(member);
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
    for (const Node& tool : builder.root.children) {
      if (tool.type != JsonType::kObject) continue;
      std::string name = tool_name(tool);
      if (!name.empty()) out.push_back({std::move(name), definition_hash(tool)});
    }
  }
  return out;
}

}  // namespace credtrace::protocols
