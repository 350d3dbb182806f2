// Fuzz target for MCP launch recognition: mcp::LaunchMatcher, mcp::ClientMatcher and mcp::match_entry over fuzzed argv.
// Input: line 1 = argv (split at spaces, tabs and NULs), line 2 = exe path, line 3 = env names (space separated).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fuzz_common.h"
#include "mcp/client_config.h"
#include "mcp/entry_match.h"
#include "mcp/launch_patterns.h"

namespace {

using credtrace::fuzz::check;
using namespace credtrace::mcp;

// Representative client config entries (parsed once) for match_entry.
constexpr std::string_view kEntriesJson = R"({
  "mcpServers": {
    "everything": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-everything"]},
    "github": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-github"],
               "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "${GITHUB_TOKEN}"}},
    "fetch": {"command": "uvx", "args": ["mcp-server-fetch"]},
    "fs": {"command": "node", "args": ["/opt/mcp/node_modules/.bin/mcp-server-filesystem", "${HOME}/docs"]},
    "py": {"command": "python3", "args": ["-m", "mcp_server_time", "--local-timezone=UTC"]},
    "pg": {"command": "docker", "args": ["run", "-i", "--rm", "-e", "PGPASSWORD", "mcp/postgres"],
           "env": {"PGPASSWORD": "x"}},
    "off": {"command": "npx", "args": ["-y", "disabled-mcp"], "disabled": true},
    "remote": {"url": "https://mcp.example.com/sse"},
    "sh": {"command": "sh", "args": ["-c", "exec npx -y @acme/weather-mcp"]}
  }
})";

struct State {
  LaunchMatcher servers{default_server_patterns()};
  ClientMatcher clients{default_client_patterns()};
  std::vector<ServerEntry> entries =
      parse_client_config("/home/u/.config/Claude/claude_desktop_config.json", kEntriesJson, Client::claude_desktop)
          .servers;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const State state;
  check(!state.entries.empty(), "built-in entries did not parse");
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> argv = credtrace::fuzz::split_any(credtrace::fuzz::line_at(input, 0), std::string_view(" \t\0", 3));
  std::string_view exe_path = credtrace::fuzz::line_at(input, 1);
  std::vector<std::string> env_names = credtrace::fuzz::split_any(credtrace::fuzz::line_at(input, 2), " \t");

  if (auto name = state.servers.match(argv, exe_path)) check(!name->empty(), "LaunchMatcher matched an empty name");
  (void)state.clients.matches(argv, exe_path);

  static const std::vector<std::string> kNoNames;
  for (const std::vector<std::string>* names : {&std::as_const(env_names), &kNoNames}) {
    const ServerEntry* entry = match_entry(state.entries, argv, *names);
    if (entry == nullptr) continue;
    check(entry >= state.entries.data() && entry < state.entries.data() + state.entries.size(),
          "match_entry returned a pointer outside the entries");
    check(!entry->disabled, "match_entry returned a disabled entry");
    check(!entry->command.empty(), "match_entry returned an entry without a command");
  }
  // The same argv given twice gives the same answer.
  check(state.servers.match(argv, exe_path) == state.servers.match(argv, exe_path), "LaunchMatcher not deterministic");
  return 0;
}
