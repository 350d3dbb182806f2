// MCP initialize detection: framing (NDJSON or Content-Length), full JSON parse, truncated-prefix fallback.
#include "mcp/jsonrpc_initialize.h"

#include <cctype>

#include <nlohmann/json.hpp>

#include "mcp/json_prefix_scan.h"

namespace credtrace::mcp {
namespace {

using Json = nlohmann::json;

std::string_view trim_left(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  return s;
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != std::tolower(static_cast<unsigned char>(prefix[i]))) return false;
  }
  return true;
}

// LSP-style framing: "Content-Length: N\r\n[other headers]\r\n\r\n<body>". Returns the body (cut to N
// when complete), or nullopt when the headers are incomplete or malformed.
std::optional<std::string_view> content_length_body(std::string_view s) {
  size_t end = s.find("\r\n\r\n");
  size_t sep = 4;
  if (end == std::string_view::npos) {
    end = s.find("\n\n");
    sep = 2;
  }
  if (end == std::string_view::npos) return std::nullopt;
  std::string_view headers = s.substr(0, end);
  size_t length = std::string_view::npos;
  for (size_t pos = 0; pos <= headers.size();) {
    size_t eol = headers.find('\n', pos);
    std::string_view line = headers.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find(':') == std::string_view::npos) return std::nullopt;
    if (starts_with_nocase(line, "content-length:")) {
      std::string_view digits = trim_left(line.substr(15));
      length = 0;
      for (char c : digits) {
        if (!std::isdigit(static_cast<unsigned char>(c)) || length > (1u << 30)) return std::nullopt;
        length = length * 10 + static_cast<size_t>(c - '0');
      }
    }
    if (eol == std::string_view::npos) break;
    pos = eol + 1;
  }
  if (length == std::string_view::npos) return std::nullopt;
  return s.substr(end + sep).substr(0, length);
}

// The first message: the Content-Length body, or the first line of newline-delimited JSON.
std::optional<std::string_view> first_message(std::string_view bytes) {
  std::string_view s = trim_left(bytes);
  if (starts_with_nocase(s, "content-length:") || starts_with_nocase(s, "content-type:")) return content_length_body(s);
  size_t nl = s.find('\n');
  return nl == std::string_view::npos ? s : s.substr(0, nl);
}

std::string string_at(const Json& obj, const char* key) {
  auto it = obj.find(key);
  return (it != obj.end() && it->is_string()) ? it->get<std::string>() : std::string();
}

std::optional<InitializeRequest> from_document(const Json& doc) {
  if (!doc.is_object() || string_at(doc, "jsonrpc") != "2.0" || string_at(doc, "method") != "initialize") return std::nullopt;
  auto id = doc.find("id");
  if (id == doc.end() || !(id->is_string() || id->is_number())) return std::nullopt;
  InitializeRequest req;
  auto params = doc.find("params");
  if (params == doc.end() || !params->is_object()) return req;
  req.protocol_version = string_at(*params, "protocolVersion");
  auto info = params->find("clientInfo");
  if (info != params->end() && info->is_object()) {
    req.client_name = string_at(*info, "name");
    req.client_version = string_at(*info, "version");
  }
  return req;
}

std::string member(const detail::PrefixScan& scan, const char* path) {
  auto it = scan.members.find(path);
  return it == scan.members.end() ? std::string() : it->second;
}

// A message cut by the capture limit: trust only what the strict prefix scan saw.
std::optional<InitializeRequest> from_prefix(std::string_view message) {
  detail::PrefixScan scan = detail::scan_json_prefix(message);
  if (scan.status != detail::ScanStatus::truncated) return std::nullopt;
  if (member(scan, "jsonrpc") != "2.0" || member(scan, "method") != "initialize") return std::nullopt;
  if (scan.members.count("result") || scan.members.count("error")) return std::nullopt;
  std::string id = member(scan, "id");
  if (id == "null" || id == "{" || id == "[" || id == "true" || id == "false") return std::nullopt;
  return InitializeRequest{member(scan, "params.protocolVersion"), member(scan, "params.clientInfo.name"),
                           member(scan, "params.clientInfo.version")};
}

}  // namespace

std::optional<InitializeRequest> parse_initialize(std::string_view first_bytes) {
  std::optional<std::string_view> message = first_message(first_bytes);
  if (!message || trim_left(*message).empty()) return std::nullopt;
  Json doc = Json::parse(message->begin(), message->end(), nullptr, false);
  if (!doc.is_discarded()) return from_document(doc);
  return from_prefix(*message);
}

}  // namespace credtrace::mcp
