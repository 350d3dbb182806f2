// The kernel's exec prefilter: which executable file names are reported when a process is not yet watched.
#pragma once

#include <set>
#include <string>

#include "config/agent_config.h"
#include "discovery/mcp_discovery.h"

namespace credtrace::discovery {

// Interpreters and launchers MCP servers run under (node, python3.x, uvx, docker, …) and MCP clients.
std::set<std::string> default_prefilter_executables();

// Defaults + mcp.extra_executables + literal (wildcard-free) server/client patterns + every config entry's
// command. Names containing "mcp" need no entry: the kernel reports them anyway.
std::set<std::string> prefilter_executables(const config::McpConfig& config, const ConfigIndex& index);

// Shells and launchers that run another program (sh, bash, env, nohup, …): their exec is reported only when their
// arguments mention "mcp" (`sh ./mcp-server-x.sh`), unless prefilter_executables names them too (a config command).
std::set<std::string> prefilter_wrappers();

}  // namespace credtrace::discovery
