// `credtrace wrap`: finds the stdio servers of an MCP client config (JSON) and rewrites each to go through
// `credtrace run --name KEY -- CMD ARGS...` (or back with --undo), keeping key order, with a backup and an atomic replace.
#include "wrap_command.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <exception>
#include <filesystem>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "atomic_file.h"
#include "logging/log.h"
#include "run_command.h"

namespace credtrace::cli {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;
constexpr int kExitError = 2;

// One map of servers in the config: its JSON path for messages ("mcpServers", "projects./home/x.mcpServers").
struct ServerMap {
  std::string label;
  Json* servers;
};

struct Change {
  std::string label;  // "mcpServers.github"
  std::string what;   // "wrapped (npx)", "unwrapped (npx)", "unchanged: already wrapped"
  bool changed = false;
};

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string basename_of(const std::string& path) {
  std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// A format wrap does not rewrite: the reason, else "".
std::string unsupported_format(const std::string& path) {
  if (ends_with(path, ".toml"))
    return "TOML configs (e.g. Codex's ~/.codex/config.toml) are not rewritten by credtrace wrap: edit each stdio "
           "server by hand to command = \"<credtrace>\", args = [\"run\", \"--name\", NAME, \"--\", CMD, ARGS...]";
  if (ends_with(path, ".yaml") || ends_with(path, ".yml"))
    return "YAML configs (e.g. Continue's config.yaml) are not rewritten by credtrace wrap: edit each stdio server "
           "by hand to command: <credtrace>, args: [run, --name, NAME, --, CMD, ARGS...]";
  return "";
}

// Parses strictly; comments (JSONC) are refused since the rewrite would drop them. "" or the error.
std::string parse_config(const std::string& text, Json& document) {
  try {
    document = Json::parse(text);
    return "";
  } catch (const Json::parse_error& e) {
    if (Json::accept(text, true))
      return "has comments (JSONC): rewriting it would drop them; remove the comments or wrap its servers by hand";
    std::size_t line = 1;
    for (std::size_t i = 0; i < e.byte && i < text.size(); ++i) line += text[i] == '\n' ? 1 : 0;
    return "malformed JSON near line " + std::to_string(line) + " (byte " + std::to_string(e.byte) + ")";
  }
}

void add_map(Json& parent, const std::string& key, const std::string& prefix, std::vector<ServerMap>& maps) {
  auto it = parent.find(key);
  if (it != parent.end() && it->is_object()) maps.push_back({prefix + key, &*it});
}

// Every server map: mcpServers (Claude Desktop, Claude Code, Cursor, Windsurf, Cline, Gemini CLI), servers (VS Code
// mcp.json), mcp.servers (VS Code settings.json), context_servers (Zed), projects.*.mcpServers (~/.claude.json).
std::vector<ServerMap> find_server_maps(Json& root) {
  std::vector<ServerMap> maps;
  add_map(root, "mcpServers", "", maps);
  add_map(root, "servers", "", maps);
  add_map(root, "context_servers", "", maps);
  auto mcp = root.find("mcp");
  if (mcp != root.end() && mcp->is_object()) add_map(*mcp, "servers", "mcp.", maps);
  auto projects = root.find("projects");
  if (projects != root.end() && projects->is_object()) {
    for (auto& [project, settings] : projects->items()) {
      if (settings.is_object()) add_map(settings, "mcpServers", "projects." + project + ".", maps);
    }
  }
  return maps;
}

bool string_array(const Json& value) {
  if (!value.is_array()) return false;
  for (const Json& item : value)
    if (!item.is_string()) return false;
  return true;
}

// An entry wrap wrote (or one written the same way by hand): command ".../credtrace", args ["run", ..., "--", CMD, ...].
std::optional<std::size_t> wrapped_separator(const Json& entry) {
  auto command = entry.find("command");
  auto args = entry.find("args");
  if (command == entry.end() || !command->is_string() || basename_of(command->get<std::string>()) != "credtrace")
    return std::nullopt;
  if (args == entry.end() || !string_array(*args) || args->empty() || (*args)[0] != "run") return std::nullopt;
  for (std::size_t i = 1; i + 1 < args->size(); ++i)
    if ((*args)[i] == "--") return i;
  return std::nullopt;
}

// `entry` with `key` set to `value`; a new key goes right after "command" (ordered_json appends otherwise).
void set_after_command(Json& entry, const std::string& key, Json value) {
  if (entry.contains(key)) {
    entry[key] = std::move(value);
    return;
  }
  Json rebuilt = Json::object();
  for (auto& [k, v] : entry.items()) {
    rebuilt[k] = std::move(v);
    if (k == "command") rebuilt[key] = value;
  }
  entry = std::move(rebuilt);
}

Change wrap_entry(const std::string& label, const std::string& name, Json& entry, const std::string& credtrace) {
  auto command = entry.find("command");
  if (command == entry.end()) return {label, "untouched: no command (HTTP server)", false};
  if (!command->is_string()) return {label, "skipped: command is not a string", false};
  if (wrapped_separator(entry)) return {label, "unchanged: already wrapped", false};
  auto args = entry.find("args");
  if (args != entry.end() && !string_array(*args)) return {label, "skipped: args is not a list of strings", false};
  std::string old_command = command->get<std::string>();
  Json wrapped = Json::array({"run", "--name", name, "--", old_command});
  if (args != entry.end())
    for (const Json& arg : *args) wrapped.push_back(arg);
  entry["command"] = credtrace;
  set_after_command(entry, "args", std::move(wrapped));
  return {label, "wrapped (" + basename_of(old_command) + ")", true};
}

Change unwrap_entry(const std::string& label, Json& entry) {
  if (!entry.contains("command")) return {label, "untouched: no command (HTTP server)", false};
  std::optional<std::size_t> separator = wrapped_separator(entry);
  if (!separator) return {label, "unchanged: not wrapped", false};
  Json& args = entry["args"];
  std::string old_command = args[*separator + 1].get<std::string>();
  Json old_args = Json::array();
  for (std::size_t i = *separator + 2; i < args.size(); ++i) old_args.push_back(args[i]);
  entry["command"] = old_command;
  if (old_args.empty()) entry.erase("args");  // wrap added "args" to an entry without it (an empty list reads the same)
  else args = std::move(old_args);
  return {label, "unwrapped (" + basename_of(old_command) + ")", true};
}

// The indentation of the file's first indented line (spaces or tabs), so the rewrite looks like the original.
std::pair<int, char> detect_indent(const std::string& text) {
  std::size_t newline = text.find('\n');
  while (newline != std::string::npos && newline + 1 < text.size()) {
    std::size_t first = text.find_first_not_of(" \t", newline + 1);
    if (first != std::string::npos && first > newline + 1 && text[first] != '\n') {
      char c = text[newline + 1];
      return {static_cast<int>(first - newline - 1), c};
    }
    newline = text.find('\n', newline + 1);
  }
  return {2, ' '};
}

std::string serialize(const Json& document, const std::string& original) {
  auto [width, character] = detect_indent(original);
  std::string text = document.dump(width, character, false, Json::error_handler_t::replace);
  if (!original.empty() && original.back() == '\n') text += '\n';
  return text;
}

// The credtrace path written as "command": --credtrace, else the launcher that started us, else ./credtrace beside us.
std::string credtrace_path(const std::string& given, std::string& error) {
  std::string path = given;
  if (path.empty()) {
    const char* launcher = std::getenv("CREDTRACE_LAUNCHER");
    path = launcher != nullptr && *launcher != '\0' ? launcher : self_executable_dir() + "/credtrace";
  }
  path = absolute_path(path);
  if (::access(path.c_str(), X_OK) != 0) {
    error = "credtrace executable " + path + " is not executable (give --credtrace PATH)";
    return "";
  }
  return path;
}

bool write_result(const std::string& path, const FileState& original, const std::string& text, std::ostream& out) {
  std::string error;
  std::string backup = path + kWrapBackupSuffix;
  if (!unchanged_since(path, original)) {
    log::error(path + ": changed while it was being rewritten (the client wrote it?); nothing changed, run again");
    return false;
  }
  struct stat st {};
  if (::lstat(backup.c_str(), &st) == 0) {
    out << "backup: " << backup << " exists, kept (it holds the config as it was before the first wrap)\n";
  } else if (create_exclusive(backup, original.content, original.mode, original.uid, original.gid, error)) {
    out << "backup: " << backup << "\n";
  } else {
    log::error(path + ": cannot write the backup " + backup + ": " + error + "; nothing changed");
    return false;
  }
  if (!unchanged_since(path, original)) {
    log::error(path + ": changed while it was being rewritten (the client wrote it?); nothing changed, run again");
    return false;
  }
  if (!replace_file(path, text, original.mode, original.uid, original.gid, error)) {
    log::error(path + ": cannot replace it: " + error);
    return false;
  }
  return true;
}

std::vector<Change> apply(std::vector<ServerMap>& maps, const WrapOptions& options, const std::string& credtrace) {
  std::vector<Change> changes;
  for (ServerMap& map : maps) {
    for (auto& [name, entry] : map.servers->items()) {
      std::string label = map.label + "." + name;
      if (!entry.is_object()) {
        changes.push_back({label, "skipped: not an object", false});
        continue;
      }
      changes.push_back(options.undo ? unwrap_entry(label, entry) : wrap_entry(label, name, entry, credtrace));
    }
  }
  return changes;
}

int wrap_config(const WrapOptions& options, std::ostream& out) {
  std::string reason = unsupported_format(options.config);
  if (!reason.empty()) {
    log::error(options.config + ": " + reason);
    return kExitError;
  }
  std::error_code ec;
  fs::path resolved = fs::canonical(options.config, ec);  // a symlinked config: edit the file it points to
  std::string path = ec ? options.config : resolved.string();
  std::string error;
  std::optional<FileState> original = read_file_state(path, error);
  if (!original) {
    log::error(options.config + ": " + error);
    return kExitError;
  }
  Json document;
  error = parse_config(original->content, document);
  if (error.empty() && !document.is_object()) error = "not a JSON object";
  std::vector<ServerMap> maps;
  if (error.empty()) maps = find_server_maps(document);
  std::size_t servers = 0;
  for (const ServerMap& map : maps) servers += map.servers->size();
  if (error.empty() && servers == 0)
    error = "no MCP servers found (no server in mcpServers, servers, mcp.servers, context_servers or "
            "projects.*.mcpServers)";
  std::string credtrace = error.empty() && !options.undo ? credtrace_path(options.credtrace, error) : "";
  if (!error.empty()) {
    log::error(options.config + ": " + error);
    return kExitError;
  }
  std::vector<Change> changes = apply(maps, options, credtrace);
  std::size_t changed = 0;
  for (const Change& change : changes) {
    out << change.label << ": " << change.what << "\n";
    changed += change.changed ? 1 : 0;
  }
  out << path << ": " << changed << (options.undo ? " unwrapped" : " wrapped") << " of " << changes.size()
      << " servers";
  if (changed == 0 || options.dry_run) {
    out << (changed == 0 ? "; nothing to write\n" : "; dry run: nothing written\n");
    return 0;
  }
  out << "\n";
  return write_result(path, *original, serialize(document, original->content), out) ? 0 : kExitError;
}

}  // namespace

int run_wrap(const WrapOptions& options, std::ostream& out) {
  try {
    return wrap_config(options, out);
  } catch (const std::exception& e) {  // nothing leaves the command as an exception
    log::error(options.config + ": " + e.what());
    return kExitError;
  }
}

}  // namespace credtrace::cli
