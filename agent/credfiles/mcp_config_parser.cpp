// MCP client config parser: hard-coded credentials in each server's env, args, headers and url, with lines.
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "credfiles/parsers.h"
#include "credfiles/structured_leaves.h"
#include "credfiles/value_rules.h"
#include "mcp/client_config.h"

namespace credtrace::credfiles {
namespace {

using detail::FindingCollector;
using detail::Leaf;

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

bool is_yaml_path(std::string_view path) { return ends_with(path, ".yaml") || ends_with(path, ".yml"); }

// Where each leaf of the document is, by its path (as agent/mcp spells field paths).
class LeafIndex {
 public:
  explicit LeafIndex(const std::vector<Leaf>& leaves) {
    for (const Leaf& leaf : leaves) lines_.emplace(leaf.path, leaf.line);
  }

  // The first candidate path present in the document, with its line; else the first candidate and line 0.
  std::pair<std::string, int> locate(const std::vector<std::string>& candidates) const {
    for (const std::string& path : candidates) {
      if (auto it = lines_.find(path); it != lines_.end()) return {path, it->second};
    }
    return {candidates.front(), 0};
  }

 private:
  std::unordered_map<std::string, int> lines_;
};

// Flags whose value is a credential: env-style secret names ("--api-key", "--token") and short spellings.
bool is_secret_flag(std::string_view flag) {
  if (!flag.starts_with('-')) return false;
  while (flag.starts_with('-')) flag.remove_prefix(1);
  if (flag.empty()) return false;
  std::string name = detail::normalized_name(flag);
  return detail::is_secret_name(name) || name == "PASS" || name == "PW" || name == "AUTH" || name == "PAT";
}

bool is_assignment_name(std::string_view name) {
  if (name.empty() || (name.front() >= '0' && name.front() <= '9')) return false;
  for (char c : name) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
              c == '-';
    if (!ok) return false;
  }
  return true;
}

class ServerExtractor {
 public:
  ServerExtractor(const mcp::ServerEntry& server, const LeafIndex& index, FindingCollector& collector)
      : server_(server), index_(index), collector_(collector) {}

  void extract() {
    collector_.set_server(server_.name);
    for (const auto& [name, value] : server_.env) env_value(name, value);
    args();
    for (const auto& [name, value] : server_.headers) header(name, value);
    url();
    collector_.set_server("");
  }

 private:
  std::pair<std::string, int> locate(std::initializer_list<std::string_view> suffixes) const {
    std::vector<std::string> candidates;
    for (std::string_view suffix : suffixes) candidates.push_back(server_.field_path + std::string(suffix));
    return index_.locate(candidates);
  }

  void env_value(const std::string& name, const std::string& value) {
    auto [path, line] = locate({".env." + name, ".command.env." + name});
    collector_.judge(path, name, value, line);
  }

  void header(const std::string& name, const std::string& value) {
    auto [path, line] = locate({".headers." + name, ".requestOptions.headers." + name});
    collector_.judge_header(path, name, value, line);
  }

  void url() {
    if (server_.url.empty()) return;
    auto [path, line] = locate({".url", ".serverUrl", ".httpUrl"});
    collector_.judge(path, "url", server_.url, line);
  }

  std::pair<std::string, int> arg_location(size_t i) const {
    std::string index = "[" + std::to_string(i) + "]";
    return locate({".args" + index, ".command.args" + index});
  }

  // --secret-flag=VALUE, --secret-flag VALUE, NAME=VALUE, or any other arg (typed tokens, URLs, headers).
  void args() {
    const std::vector<std::string>& args = server_.args;
    for (size_t i = 0; i < args.size(); ++i) {
      std::string_view arg = args[i];
      auto [path, line] = arg_location(i);
      size_t equals = arg.find('=');
      std::string_view before = arg.substr(0, equals);
      if (equals != std::string_view::npos && is_secret_flag(before)) {
        collector_.judge(path, before.substr(before.find_first_not_of('-')), arg.substr(equals + 1), line);
      } else if (equals == std::string_view::npos && is_secret_flag(arg) && i + 1 < args.size() &&
                 !args[i + 1].starts_with('-')) {
        auto [value_path, value_line] = arg_location(++i);
        collector_.judge(value_path, arg.substr(arg.find_first_not_of('-')), args[i], value_line);
      } else if (equals != std::string_view::npos && is_assignment_name(before)) {
        collector_.judge(path, before, arg.substr(equals + 1), line);
      } else {
        collector_.judge(path, "args", arg, line);
      }
    }
  }

  const mcp::ServerEntry& server_;
  const LeafIndex& index_;
  FindingCollector& collector_;
};

// The leaf lies inside one of the server entries (its path continues a server's field path).
bool inside_server(const std::string& leaf_path, const std::unordered_set<std::string>& server_paths) {
  for (size_t i = 0; i < leaf_path.size(); ++i) {
    if ((leaf_path[i] == '.' || leaf_path[i] == '[') && server_paths.count(leaf_path.substr(0, i))) return true;
  }
  return server_paths.count(leaf_path) > 0;
}

}  // namespace

ParseResult parse_mcp_config(std::string_view path, std::string_view text) {
  FindingCollector collector;
  detail::Leaves leaves = is_yaml_path(path) ? detail::yaml_leaves(text) : detail::json_leaves(text);
  std::unordered_set<std::string> server_paths;
  if (leaves.error.empty()) {
    // Only a document that parsed within the limits is handed to agent/mcp (no alias bombs, no deep nesting).
    mcp::ConfigParseResult config = mcp::parse_client_config(path, text, mcp::detect_client(path));
    if (!config.error.empty()) collector.add_error(detail::redact_for_output(config.error));
    LeafIndex index(leaves.leaves);
    for (const mcp::ServerEntry& server : config.servers) {
      ServerExtractor(server, index, collector).extract();
      server_paths.insert(server.field_path);
    }
  } else {
    collector.add_error(leaves.error);
  }
  for (const Leaf& leaf : leaves.leaves) {
    if (!inside_server(leaf.path, server_paths)) detail::collect_leaf_findings(leaf, collector);
  }
  return collector.take();
}

}  // namespace credtrace::credfiles
