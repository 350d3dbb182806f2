// The kernel's exec prefilter names: defaults, configured names, literal patterns and config entry commands.
#include "discovery/exec_prefilter.h"

#include "mcp/argv_unwrap.h"

#include "common/paths.h"

namespace credtrace::discovery {
namespace {

void add_literal(std::set<std::string>& names, const std::string& pattern) {
  if (pattern.find_first_of("*?[") != std::string::npos) return;
  std::string name = common::file_name(pattern);
  if (!name.empty()) names.insert(name);
}

}  // namespace

std::set<std::string> default_prefilter_executables() {
  // Interpreters by kind and the names they go by (nodejs, python3.x), then launchers and runtimes.
  std::set<std::string> names(mcp::detail::interpreter_kinds().begin(), mcp::detail::interpreter_kinds().end());
  names.insert({"nodejs", "python3", "pypy3"});
  for (int minor = 6; minor <= 15; ++minor) names.insert("python3." + std::to_string(minor));
  names.insert({"npx", "npm", "pnpm", "yarn", "bunx", "uv", "uvx", "pipx", "docker", "podman", "nerdctl", "java",
                "dotnet", "go"});
  for (const auto& client : mcp::default_client_patterns()) add_literal(names, client);
  return names;
}

std::set<std::string> prefilter_executables(const config::McpConfig& config, const ConfigIndex& index) {
  std::set<std::string> names = default_prefilter_executables();
  for (const auto& name : config.extra_executables) names.insert(name);
  for (const auto& pattern : config.server_patterns) add_literal(names, pattern);
  for (const auto& pattern : config.client_patterns) add_literal(names, pattern);
  for (const auto& entry : index.entries()) add_literal(names, entry.command);
  return names;
}

std::set<std::string> prefilter_wrappers() {
  return {"sh",     "bash",   "dash",    "zsh",    "ksh",  "mksh", "ash",   "busybox", "env",
          "nohup",  "setsid", "timeout", "stdbuf", "nice", "chpst", "tini",    "dumb-init"};
}

}  // namespace credtrace::discovery
