// Public API: which MCP client config entry launched a given process.
#pragma once

#include <string>
#include <vector>

#include "mcp/client_config.h"

namespace credtrace::mcp {

// The entry whose command+args this argv is. argv is first normalised like LaunchMatcher does (process
// titles split, `env` prefixes removed, `sh -c "…"` opened). An entry matches when basename(command)
// equals the basename of one of the first 3 argv elements (npx-cli.js counts as npx, python3.11 as
// python) and entry.args appear contiguously after it (an arg containing "${" matches any one token);
// the match with the most args wins. Otherwise an entry matches when the package its launcher names
// equals the one the process reveals (npx -y pkg ⇔ npm exec pkg ⇔ node …/node_modules/.bin/pkg) and its
// last non-option arg appears in argv. When env_names is non-empty every env key of the entry must be
// in it. Entries without a command (url only) and disabled entries never match. nullptr when none.
const ServerEntry* match_entry(const std::vector<ServerEntry>& entries, const std::vector<std::string>& argv,
                               const std::vector<std::string>& env_names);

}  // namespace credtrace::mcp
