// MCP server/client process recognition: glob lists matched against names revealed by launcher unwrapping.
#include "mcp/launch_patterns.h"

#include <algorithm>

#include "mcp/argv_unwrap.h"
#include "mcp/glob.h"

namespace credtrace::mcp {
namespace {

bool any_glob(const std::vector<std::string>& globs, std::string_view name) {
  return std::any_of(globs.begin(), globs.end(), [&](const std::string& g) { return detail::glob_match(g, name); });
}

std::vector<std::string> client_candidates(const std::vector<std::string>& argv, std::string_view exe_path) {
  std::vector<std::string> names;
  if (!exe_path.empty()) names.push_back(detail::base_name(exe_path));
  std::vector<std::string> tokens = detail::normalize_argv(argv);
  if (!tokens.empty()) names.push_back(detail::base_name(tokens[0]));
  if (!argv.empty() && argv[0].find(' ') == std::string::npos) names.push_back(detail::base_name(argv[0]));
  for (auto& n : detail::interpreter_script_names(argv)) names.push_back(std::move(n));
  return names;
}

}  // namespace

std::vector<std::string> default_server_patterns() {
  return {"@modelcontextprotocol/*", "mcp-server-*", "*-mcp-server", "*-mcp", "mcp_server_*",
          "@*/mcp-server-*",         "@*/*-mcp-server", "@*/*-mcp",   "mcp/*"};
}

LaunchMatcher::LaunchMatcher(std::vector<std::string> globs) : globs_(std::move(globs)) {}

std::optional<std::string> LaunchMatcher::match(const std::vector<std::string>& argv, std::string_view exe_path) const {
  for (auto& name : detail::launch_candidates(argv, exe_path)) {
    if (any_glob(globs_, name)) return name;
  }
  return std::nullopt;
}

std::vector<std::string> default_client_patterns() {
  return {"claude", "claude-desktop", "claude-code", "cursor", "code",   "code-insiders", "codium", "windsurf",
          "zed",    "zed-editor",     "gemini",      "gemini-cli", "cline", "goose",        "continue"};
}

ClientMatcher::ClientMatcher(std::vector<std::string> globs) : globs_(std::move(globs)) {}

bool ClientMatcher::matches(const std::vector<std::string>& argv, std::string_view exe_path) const {
  for (const auto& name : client_candidates(argv, exe_path)) {
    if (any_glob(globs_, name)) return true;
  }
  return false;
}

}  // namespace credtrace::mcp
