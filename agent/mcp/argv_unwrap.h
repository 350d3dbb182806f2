// Internal: launcher unwrapping shared by server/client recognition and entry matching.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace credtrace::mcp::detail {

std::string base_name(std::string_view path);

// What a program is, from its path: lower-case basename without script extension, with aliases
// folded ("npx-cli.js" → "npx", "npm-cli.js" → "npm", "python3.11" → "python", "nodejs" → "node").
std::string program_kind(std::string_view path);

// The interpreters MCP servers run under, by kind: the one list (the exec prefilter and program names use it too).
const std::set<std::string, std::less<>>& interpreter_kinds();  // node, python, bun, deno, tsx, ts-node, ruby, …
bool is_interpreter_kind(std::string_view kind);

// Whitespace split honouring '…' and "…" quotes and backslash escapes; ; & | become "|" separators.
std::vector<std::string> shell_split(std::string_view command);

// argv as the launch really was: a process title ("npm exec pkg" in argv[0], rest empty) is split,
// trailing empty strings dropped, and a leading `env [opts] [VAR=val…]` removed.
std::vector<std::string> normalize_argv(const std::vector<std::string>& argv);

// Candidate server names, most specific first: packages/modules/images revealed by launchers and
// interpreters, then script names, then the basenames of argv[0] and exe_path. No duplicates.
std::vector<std::string> launch_candidates(const std::vector<std::string>& argv, std::string_view exe_path);

// Only the names revealed by unwrapping (no trailing argv[0]/exe basenames); empty if none.
std::vector<std::string> unwrapped_names(const std::vector<std::string>& argv);

// True when a launcher operand ("pkg@1.2", "pkg==1.0", "@s/pkg@latest", "pkg") names the package `name`.
bool spec_names_package(std::string_view spec, std::string_view name);

// Names an interpreter-run program is known by: "node /x/node_modules/@a/b/cli.js" → "@a/b", "b", "cli".
std::vector<std::string> interpreter_script_names(const std::vector<std::string>& argv);

}  // namespace credtrace::mcp::detail
