// MCP client config parsing: client detection from the path, format dispatch (JSON/JSONC/YAML), file reading.
#include "mcp/client_config.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "mcp/config_shapes.h"
#include "mcp/jsonc.h"

namespace credtrace::mcp {
namespace {

using Json = nlohmann::ordered_json;

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool contains(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }

std::string_view base_name(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// "/x/.continue/mcpServers/a.yaml" → true for JSON and YAML files in that directory.
bool in_continue_servers_dir(std::string_view path) {
  std::string_view base = base_name(path);
  if (!ends_with(path.substr(0, path.size() - base.size()), ".continue/mcpServers/")) return false;
  return ends_with(base, ".yaml") || ends_with(base, ".yml") || ends_with(base, ".json");
}

bool is_vscode_mcp_json(std::string_view path) {
  if (base_name(path) != "mcp.json") return false;
  return ends_with(path, ".vscode/mcp.json") || contains(path, "/User/mcp.json") || contains(path, "/User/profiles/");
}

bool is_yaml_path(std::string_view path) { return ends_with(path, ".yaml") || ends_with(path, ".yml"); }

std::string join_errors(const std::vector<std::string>& errors) {
  std::string out;
  for (const auto& e : errors) out += (out.empty() ? "" : "; ") + e;
  return out;
}

// JSON(C) text → document; the error names the byte offset only (messages may quote secrets).
Json parse_json_text(std::string_view content, std::string& error) {
  try {
    return Json::parse(detail::strip_jsonc(content), nullptr, true, true);
  } catch (const nlohmann::json::parse_error& e) {
    error = "json parse error at byte " + std::to_string(e.byte) + " (code " + std::to_string(e.id) + ")";
  } catch (const std::exception&) {
    error = "json parse error";
  }
  return nullptr;
}

bool blank(std::string_view content) {
  return content.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

}  // namespace

std::string_view client_name(Client client) {
  switch (client) {
    case Client::claude_desktop: return "claude_desktop";
    case Client::claude_code: return "claude_code";
    case Client::cursor: return "cursor";
    case Client::vscode: return "vscode";
    case Client::windsurf: return "windsurf";
    case Client::cline: return "cline";
    case Client::gemini_cli: return "gemini_cli";
    case Client::zed: return "zed";
    case Client::continue_dev: return "continue";
    case Client::unknown: break;
  }
  return "unknown";
}

Client detect_client(std::string_view path) {
  std::string_view base = base_name(path);
  if (base == "claude_desktop_config.json") return Client::claude_desktop;
  if (base == ".claude.json" || base == ".mcp.json" || base == "managed-mcp.json") return Client::claude_code;
  if (base == "cline_mcp_settings.json") return Client::cline;
  if (ends_with(path, ".cursor/mcp.json")) return Client::cursor;
  if (is_vscode_mcp_json(path)) return Client::vscode;
  if (ends_with(path, "windsurf/mcp_config.json")) return Client::windsurf;
  if (ends_with(path, ".gemini/settings.json")) return Client::gemini_cli;
  if (ends_with(path, "zed/settings.json") || ends_with(path, ".zed/settings.json")) return Client::zed;
  if (ends_with(path, ".continue/config.yaml") || ends_with(path, ".continue/config.yml")) return Client::continue_dev;
  if (in_continue_servers_dir(path)) return Client::continue_dev;
  return Client::unknown;
}

ConfigParseResult parse_client_config(std::string_view path, std::string_view content, Client client) {
  ConfigParseResult result;
  if (blank(content)) {
    result.error = "empty file";
    return result;
  }
  std::string error;
  Json root = is_yaml_path(path) ? detail::yaml_to_json(content, error) : parse_json_text(content, error);
  if (!error.empty()) {
    result.error = error;
    return result;
  }
  detail::ShapeContext ctx{client, std::string(path), {}};
  detail::collect_servers(root, ctx, result.servers);
  result.error = join_errors(ctx.errors);
  return result;
}

ConfigParseResult parse_client_config_file(const std::string& path, size_t max_bytes) {
  ConfigParseResult result;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    result.error = "not a regular file";
    return result;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    result.error = "cannot open file";
    return result;
  }
  const auto size = std::filesystem::file_size(path, ec);
  if (!ec && size > max_bytes) {
    result.error = "file larger than " + std::to_string(max_bytes) + " bytes";
    return result;
  }
  // Read one byte more than allowed: the file may have grown since the size check.
  std::string content(ec ? max_bytes + 1 : std::min<size_t>(size, max_bytes) + 1, '\0');
  in.read(content.data(), static_cast<std::streamsize>(content.size()));
  content.resize(static_cast<size_t>(in.gcount()));
  if (content.size() > max_bytes) {
    result.error = "file larger than " + std::to_string(max_bytes) + " bytes";
    return result;
  }
  return parse_client_config(path, content, detect_client(path));
}

}  // namespace credtrace::mcp
