// Config shapes of every MCP client: server maps, lists, Zed's nested command, Claude Code projects, Continue YAML.
#include "mcp/config_shapes.h"

#include <cctype>

#include <yaml-cpp/yaml.h>

namespace credtrace::mcp::detail {
namespace {

using Json = nlohmann::ordered_json;

// Strings verbatim, numbers and booleans as written; null and containers (not valid here) as "".
std::string scalar_text(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null() || v.is_structured()) return "";
  return v.dump();
}

std::string string_member(const Json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() ? std::string() : scalar_text(*it);
}

std::vector<std::string> string_list(const Json& v) {
  std::vector<std::string> out;
  if (v.is_array()) {
    for (const auto& item : v) out.push_back(scalar_text(item));
  } else if (!v.is_null()) {
    out.push_back(scalar_text(v));
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> string_pairs(const Json& v) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!v.is_object()) return out;
  for (const auto& [key, value] : v.items()) out.emplace_back(key, scalar_text(value));
  return out;
}

// A boolean that YAML conversion may have turned into the string "true"/"false".
bool flag_is(const Json& obj, const char* key, bool wanted) {
  auto it = obj.find(key);
  if (it == obj.end()) return false;
  if (it->is_boolean()) return it->get<bool>() == wanted;
  return it->is_string() && it->get<std::string>() == (wanted ? "true" : "false");
}

std::string normalize_transport(std::string declared) {
  for (auto& c : declared) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (declared.find("sse") != std::string::npos) return "sse";
  if (declared.find("http") != std::string::npos || declared == "streamable") return "http";
  return declared;
}

std::string declared_transport(const Json& obj) {
  for (const char* key : {"type", "transport", "transportType"}) {
    auto it = obj.find(key);
    if (it != obj.end() && it->is_string()) return normalize_transport(it->get<std::string>());
  }
  return "";
}

void read_url(const Json& obj, ServerEntry& e) {
  for (const char* key : {"url", "serverUrl", "httpUrl"}) {
    std::string url = string_member(obj, key);
    if (url.empty()) continue;
    e.url = url;
    // Gemini CLI documents "url" as an SSE endpoint and "httpUrl" as streamable HTTP.
    e.transport = (e.client == Client::gemini_cli && std::string_view(key) == "url") ? "sse" : "http";
    return;
  }
}

void read_headers(const Json& obj, ServerEntry& e) {
  if (auto it = obj.find("headers"); it != obj.end()) e.headers = string_pairs(*it);
  if (!e.headers.empty()) return;
  auto opts = obj.find("requestOptions");  // Continue
  if (opts != obj.end() && opts->is_object()) {
    if (auto it = opts->find("headers"); it != opts->end()) e.headers = string_pairs(*it);
  }
}

// Older Zed: "command": {"path": "...", "args": [...], "env": {...}}.
void read_command(const Json& obj, ServerEntry& e) {
  auto it = obj.find("command");
  const Json* holder = &obj;
  if (it != obj.end() && it->is_object()) {
    holder = &*it;
    e.command = string_member(*it, "path");
  } else if (it != obj.end()) {
    e.command = scalar_text(*it);
  }
  if (auto a = holder->find("args"); a != holder->end()) e.args = string_list(*a);
  if (auto v = holder->find("env"); v != holder->end()) e.env = string_pairs(*v);
}

ServerEntry entry_from(const Json& obj, std::string name, std::string field_path, const ShapeContext& ctx) {
  ServerEntry e;
  e.client = ctx.client;
  e.config_path = ctx.config_path;
  e.name = std::move(name);
  e.field_path = std::move(field_path);
  read_command(obj, e);
  read_url(obj, e);
  read_headers(obj, e);
  e.cwd = string_member(obj, "cwd");
  e.disabled = flag_is(obj, "disabled", true) || flag_is(obj, "enabled", false);
  std::string declared = declared_transport(obj);
  if (!declared.empty()) {
    e.transport = declared;
  } else if (e.transport.empty() && !e.command.empty()) {
    e.transport = "stdio";
  }
  return e;
}

void add_entry(const Json& value, std::string name, std::string path, ShapeContext& ctx, std::vector<ServerEntry>& out) {
  if (!value.is_object()) {
    ctx.errors.push_back(path + ": entry is not an object");
    return;
  }
  out.push_back(entry_from(value, std::move(name), std::move(path), ctx));
}

// A name → entry object, or a list of entries carrying "name" (Continue).
void collect_group(const Json& group, const std::string& prefix, ShapeContext& ctx, std::vector<ServerEntry>& out) {
  if (group.is_object()) {
    for (const auto& [name, value] : group.items()) add_entry(value, name, prefix + "." + name, ctx, out);
  } else if (group.is_array()) {
    for (size_t i = 0; i < group.size(); ++i) {
      std::string name = group[i].is_object() ? string_member(group[i], "name") : "";
      add_entry(group[i], name, prefix + "[" + std::to_string(i) + "]", ctx, out);
    }
  } else if (!group.is_null()) {
    ctx.errors.push_back(prefix + ": not an object or list");
  }
}

void collect_member(const Json& root, const char* key, ShapeContext& ctx, std::vector<ServerEntry>& out) {
  if (auto it = root.find(key); it != root.end()) collect_group(*it, key, ctx, out);
}

// Claude Code local scope: projects["/abs/path"].mcpServers.
void collect_projects(const Json& root, ShapeContext& ctx, std::vector<ServerEntry>& out) {
  auto projects = root.find("projects");
  if (projects == root.end() || !projects->is_object()) return;
  for (const auto& [dir, project] : projects->items()) {
    if (!project.is_object()) continue;
    auto servers = project.find("mcpServers");
    if (servers != project.end()) collect_group(*servers, "projects." + dir + ".mcpServers", ctx, out);
  }
}

// VS Code settings.json: "mcp": {"servers": {...}}.
void collect_vscode_settings(const Json& root, ShapeContext& ctx, std::vector<ServerEntry>& out) {
  auto mcp = root.find("mcp");
  if (mcp == root.end() || !mcp->is_object()) return;
  if (auto servers = mcp->find("servers"); servers != mcp->end()) collect_group(*servers, "mcp.servers", ctx, out);
}

bool uses(Client actual, Client wanted) { return actual == wanted || actual == Client::unknown; }

Json yaml_node_to_json(const YAML::Node& node, int depth) {
  if (depth > 64) return nullptr;
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return node.Scalar();
    case YAML::NodeType::Sequence: {
      Json arr = Json::array();
      for (const auto& item : node) arr.push_back(yaml_node_to_json(item, depth + 1));
      return arr;
    }
    case YAML::NodeType::Map: {
      Json obj = Json::object();
      for (const auto& kv : node) obj[kv.first.Scalar()] = yaml_node_to_json(kv.second, depth + 1);
      return obj;
    }
    default:
      return nullptr;
  }
}

}  // namespace

void collect_servers(const Json& root, ShapeContext& ctx, std::vector<ServerEntry>& out) {
  if (!root.is_object()) {
    ctx.errors.push_back("top-level value is not an object");
    return;
  }
  collect_member(root, "mcpServers", ctx, out);
  if (uses(ctx.client, Client::claude_code)) collect_projects(root, ctx, out);
  if (uses(ctx.client, Client::vscode)) {
    collect_member(root, "servers", ctx, out);
    collect_vscode_settings(root, ctx, out);
  }
  if (uses(ctx.client, Client::zed)) collect_member(root, "context_servers", ctx, out);
}

Json yaml_to_json(std::string_view text, std::string& error) {
  try {
    return yaml_node_to_json(YAML::Load(std::string(text)), 0);
  } catch (const YAML::Exception& e) {
    // The message can quote document content; report the position only.
    error = "yaml parse error at line " + std::to_string(e.mark.line + 1) + ", column " + std::to_string(e.mark.column + 1);
  } catch (const std::exception&) {
    error = "yaml parse error";
  }
  return nullptr;
}

}  // namespace credtrace::mcp::detail
