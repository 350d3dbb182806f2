// Config entry ↔ process matching: strict command/args match first, launcher-identity match as fallback.
#include "mcp/entry_match.h"

#include <algorithm>
#include <span>

#include "mcp/argv_unwrap.h"

namespace credtrace::mcp {
namespace {

using Tokens = std::vector<std::string>;
constexpr size_t kCommandWindow = 3;

// `sh -c "cmd …"` → the tokens of the first real command in the string.
Tokens open_shell(Tokens tokens) {
  if (tokens.size() < 3) return tokens;
  const std::string kind = detail::program_kind(tokens[0]);
  if (kind != "sh" && kind != "bash" && kind != "dash" && kind != "zsh") return tokens;
  if (tokens[1].size() < 2 || tokens[1][0] != '-' || tokens[1].find('c') == std::string::npos) return tokens;
  Tokens inner = detail::shell_split(tokens[2]);
  auto end = std::find(inner.begin(), inner.end(), "|");
  inner.erase(end, inner.end());
  if (!inner.empty() && inner[0] == "exec") inner.erase(inner.begin());
  return detail::normalize_argv(inner);
}

Tokens process_tokens(const Tokens& argv) { return open_shell(detail::normalize_argv(argv)); }

// `credtrace run [--name N] [--preload P] [--] CMD ARGS…` (the form `credtrace wrap` writes) execs CMD ARGS: the
// process is CMD, so the entry is matched as CMD ARGS.
Tokens without_credtrace_run(Tokens t) {
  if (t.size() < 3 || detail::base_name(t[0]) != "credtrace" || t[1] != "run") return t;
  size_t i = 2;
  while (i < t.size()) {
    if (t[i] == "--") {
      ++i;
      break;
    }
    if (t[i] == "--name" || t[i] == "--preload") i += 2;
    else if (t[i].starts_with("--name=") || t[i].starts_with("--preload=")) ++i;
    else break;
  }
  if (i >= t.size()) return t;  // nothing after the options: not a launch we can unwrap (never an empty entry)
  return Tokens(t.begin() + static_cast<long>(i), t.end());
}

// The entry as an argv: command plus args; a command written with spaces and no args is split.
Tokens entry_tokens(const ServerEntry& e) {
  if (e.args.empty() && e.command.find(' ') != std::string::npos) return without_credtrace_run(detail::shell_split(e.command));
  Tokens t{e.command};
  t.insert(t.end(), e.args.begin(), e.args.end());
  return without_credtrace_run(std::move(t));
}

bool arg_equal(const std::string& wanted, const std::string& actual) {
  return wanted == actual || wanted.find("${") != std::string::npos;
}

// True when args occur contiguously somewhere in tokens[from…].
bool contains_run(const Tokens& tokens, size_t from, std::span<const std::string> args) {
  if (args.empty()) return true;
  for (size_t start = from; start + args.size() <= tokens.size(); ++start) {
    if (std::equal(args.begin(), args.end(), tokens.begin() + static_cast<long>(start), arg_equal)) return true;
  }
  return false;
}

bool env_ok(const ServerEntry& e, const Tokens& env_names) {
  if (env_names.empty()) return true;
  return std::all_of(e.env.begin(), e.env.end(), [&](const auto& kv) {
    return std::find(env_names.begin(), env_names.end(), kv.first) != env_names.end();
  });
}

bool eligible(const ServerEntry& e, const Tokens& env_names) {
  return !e.disabled && !e.command.empty() && env_ok(e, env_names);
}

bool strict_match(const Tokens& entry, const Tokens& process) {
  const std::string kind = detail::program_kind(entry[0]);
  std::span<const std::string> args(entry.begin() + 1, entry.end());
  for (size_t i = 0; i < std::min(kCommandWindow, process.size()); ++i) {
    if (detail::program_kind(process[i]) == kind && contains_run(process, i + 1, args)) return true;
  }
  return false;
}

// The last argument that is not an option: the server's own operand or the package itself.
const std::string* last_operand(const Tokens& entry) {
  for (size_t i = entry.size(); i-- > 1;) {
    if (!entry[i].empty() && entry[i][0] != '-') return &entry[i];
  }
  return nullptr;
}

// Same launched package on both sides, and the entry's last operand (a server argument, or the package
// spec itself) is visible in the process.
bool identity_match(const Tokens& entry, const Tokens& process) {
  Tokens entry_names = detail::unwrapped_names(entry);
  Tokens process_names = detail::unwrapped_names(process);
  if (entry_names.empty() || process_names.empty() || entry_names[0] != process_names[0]) return false;
  const std::string* operand = last_operand(entry);
  if (operand == nullptr || detail::spec_names_package(*operand, process_names[0])) return true;
  return std::find(process.begin(), process.end(), *operand) != process.end();
}

// The eligible entry with the most args that passes `test`, or nullptr.
template <typename Test>
const ServerEntry* best_entry(const std::vector<ServerEntry>& entries, const Tokens& env_names, Test test) {
  const ServerEntry* best = nullptr;
  for (const auto& e : entries) {
    if (!eligible(e, env_names) || !test(entry_tokens(e))) continue;
    if (best == nullptr || e.args.size() > best->args.size()) best = &e;
  }
  return best;
}

}  // namespace

const ServerEntry* match_entry(const std::vector<ServerEntry>& entries, const std::vector<std::string>& argv,
                               const std::vector<std::string>& env_names) {
  const Tokens process = process_tokens(argv);
  if (process.empty()) return nullptr;
  auto strict = [&](const Tokens& entry) { return strict_match(entry, process); };
  if (const ServerEntry* e = best_entry(entries, env_names, strict)) return e;
  auto same_identity = [&](const Tokens& entry) { return identity_match(entry, process); };
  return best_entry(entries, env_names, same_identity);
}

}  // namespace credtrace::mcp
