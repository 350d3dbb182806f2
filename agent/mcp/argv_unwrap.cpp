// Launcher unwrapping: npx/npm exec/pnpm dlx/bunx/yarn dlx, uvx/uv/pipx, node/python, sh -c, env, docker/podman run.
#include "mcp/argv_unwrap.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <span>

namespace credtrace::mcp::detail {
namespace {

using View = std::span<const std::string>;
constexpr int kMaxDepth = 8;

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

template <size_t N>
bool one_of(std::string_view s, const std::array<std::string_view, N>& set) {
  return std::find(set.begin(), set.end(), s) != set.end();
}

std::string strip_script_extension(std::string name) {
  for (std::string_view ext : {".js", ".mjs", ".cjs", ".ts", ".py", ".sh"}) {
    if (name.size() > ext.size() && name.compare(name.size() - ext.size(), ext.size(), ext) == 0) {
      return name.substr(0, name.size() - ext.size());
    }
  }
  return name;
}

bool is_python_name(std::string_view b) {
  if (!starts_with(b, "python")) return false;
  return std::all_of(b.begin() + 6, b.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)) || c == '.'; });
}

// "@scope/name@1.2" → "@scope/name", "name@latest" → "name", "npm:pkg" → "pkg".
std::string strip_npm_version(std::string_view spec) {
  if (starts_with(spec, "npm:")) spec.remove_prefix(4);
  size_t at = spec.find('@', starts_with(spec, "@") ? 1 : 0);
  return std::string(spec.substr(0, at));
}

// "pkg==1.0", "pkg@1.0", "pkg[extra]>=2" → "pkg"; "git+https://host/o/repo.git@v1" → "repo".
std::string strip_python_spec(std::string_view spec) {
  if (spec.find("://") != std::string_view::npos) {
    spec = spec.substr(0, spec.find('@', spec.find("://")));
    std::string base = base_name(spec);
    return base.size() > 4 && base.ends_with(".git") ? base.substr(0, base.size() - 4) : base;
  }
  return std::string(spec.substr(0, spec.find_first_of("=<>!~[;@ ")));
}

// The package a path inside node_modules belongs to ("…/node_modules/@a/b/dist/x.js" → "@a/b").
std::string node_modules_package(std::string_view path) {
  size_t nm = path.rfind("node_modules/");
  if (nm == std::string_view::npos) return "";
  std::string_view rest = path.substr(nm + 13);
  size_t slash = rest.find('/');
  if (starts_with(rest, "@") && slash != std::string_view::npos) slash = rest.find('/', slash + 1);
  std::string_view pkg = rest.substr(0, slash);
  if (pkg.empty() || starts_with(pkg, ".") || slash == std::string_view::npos) return "";
  return std::string(pkg);
}

// The package a path inside site-packages belongs to ("…/site-packages/mcp_server_git/__main__.py").
std::string site_packages_package(std::string_view path) {
  size_t sp = path.rfind("site-packages/");
  if (sp == std::string_view::npos) return "";
  std::string_view rest = path.substr(sp + 14);
  size_t slash = rest.find('/');
  return slash == std::string_view::npos ? "" : std::string(rest.substr(0, slash));
}

constexpr std::array<std::string_view, 12> kLaunchers = {"npx", "pnpx", "bunx", "npm", "pnpm", "yarn",
                                                         "uvx", "uv", "pipx", "env", "sh", "bash"};

constexpr std::array<std::string_view, 8> kNodeValueFlags = {"-r", "--require", "--import", "--loader",
                                                             "--experimental-loader", "--input-type", "-C", "--conditions"};
constexpr std::array<std::string_view, 4> kNodeInlineFlags = {"-e", "--eval", "-p", "--print"};

// npm exec options whose value is the next argument (the = form needs no entry here).
constexpr std::array<std::string_view, 8> kNpmValueFlags = {"--registry", "--cache",     "--userconfig", "--prefix",
                                                            "--workspace", "-w",        "--loglevel",   "--node-options"};

constexpr std::array<std::string_view, 16> kUvValueFlags = {
    "--from", "--with", "--with-editable", "--with-requirements", "--python", "-p", "--index", "--index-url",
    "--extra-index-url", "--default-index", "--directory", "--project", "--config-file", "--cache-dir", "--env-file",
    "--constraints"};

constexpr std::array<std::string_view, 4> kPipxValueFlags = {"--spec", "--python", "--index-url", "--pip-args"};

constexpr std::array<std::string_view, 10> kContainerShortValueFlags = {"-e", "-v", "-p", "-w", "-u",
                                                                        "-h", "-l", "-m", "-c", "-a"};
constexpr std::array<std::string_view, 72> kContainerLongValueFlags = {
    "--env", "--env-file", "--volume", "--mount", "--publish", "--workdir", "--user", "--hostname", "--label",
    "--label-file", "--name", "--network", "--net", "--network-alias", "--entrypoint", "--platform", "--pull",
    "--cpus", "--cpu-shares", "--cpuset-cpus", "--memory", "--memory-swap", "--memory-reservation", "--add-host",
    "--dns", "--dns-search", "--dns-option", "--device", "--cap-add", "--cap-drop", "--security-opt", "--restart",
    "--log-driver", "--log-opt", "--ulimit", "--tmpfs", "--gpus", "--ipc", "--pid", "--uts", "--shm-size",
    "--cidfile", "--runtime", "--userns", "--stop-signal", "--stop-timeout", "--expose", "--link", "--volumes-from",
    "--group-add", "--attach", "--health-cmd", "--health-interval", "--health-retries", "--health-timeout",
    "--cgroupns", "--cgroup-parent", "--ip", "--ip6", "--mac-address", "--storage-opt", "--sysctl", "--pids-limit",
    "--secret", "--pod", "--arch", "--os", "--tz", "--uidmap", "--gidmap", "--annotation", "--umask"};

constexpr std::array<std::string_view, 8> kShellBuiltins = {"cd", "export", "source", ".", "set", "echo", "true", ":"};

// The command `env` runs, given env's arguments: options and VAR=val dropped, -S strings split.
std::vector<std::string> env_program(View rest) {
  for (size_t i = 0; i < rest.size(); ++i) {
    const std::string& a = rest[i];
    if (starts_with(a, "-S") || a == "--split-string") {
      const bool joined = a.size() > 2 && a != "--split-string";
      std::string inline_cmd = joined ? a.substr(2) : (i + 1 < rest.size() ? rest[++i] : "");
      std::vector<std::string> tokens = shell_split(inline_cmd);
      tokens.insert(tokens.end(), rest.begin() + static_cast<long>(i) + 1, rest.end());
      return tokens;
    }
    if (a == "-u" || a == "--unset" || a == "-C" || a == "--chdir") {
      ++i;
    } else if (a == "--") {
      return {rest.begin() + static_cast<long>(i) + 1, rest.end()};
    } else if (!starts_with(a, "-") && a.find('=') == std::string::npos) {
      return {rest.begin() + static_cast<long>(i), rest.end()};
    }
  }
  return {};
}

// Turns argv into candidate names; one instance per query.
class Unwrapper {
 public:
  std::vector<std::string> names;

  void unwrap(View t, int depth) {
    if (t.empty() || depth > kMaxDepth) return;
    const std::string kind = program_kind(t[0]);
    View rest = t.subspan(1);
    if (!dispatch(kind, rest, depth)) script(t[0]);
  }

  void add(std::string name) {
    if (!name.empty() && std::find(names.begin(), names.end(), name) == names.end()) names.push_back(std::move(name));
  }

  // Names of a program/script path: its package (node_modules/site-packages), then its stem.
  void script(std::string_view path) {
    if (starts_with(path, "npm:") || starts_with(path, "jsr:")) return add(strip_npm_version(path.substr(4)));
    add(node_modules_package(path));
    add(site_packages_package(path));
    add(strip_script_extension(base_name(path)));
  }

  // Index of the script/module operand after interpreter flags; rest.size() when there is none.
  static size_t interpreter_operand(View rest, bool python) {
    for (size_t i = 0; i < rest.size(); ++i) {
      const std::string& a = rest[i];
      if (a == "--") return i + 1;
      if (python && a == "-m") return i;
      if (python ? a == "-c" : one_of(a, kNodeInlineFlags)) return rest.size();
      if (!starts_with(a, "-") || a == "-") return i;
      const bool takes_value = python ? (a == "-X" || a == "-W") : one_of(a, kNodeValueFlags);
      if (takes_value) ++i;
    }
    return rest.size();
  }

 private:
  bool dispatch(const std::string& kind, View rest, int depth) {
    if (kind == "env") return env_like(rest, depth), true;
    if (kind == "npx" || kind == "pnpx" || kind == "bunx") return npx_like(rest, depth), true;
    if (kind == "npm" && !rest.empty() && (rest[0] == "exec" || rest[0] == "x")) return npx_like(rest.subspan(1), depth), true;
    if ((kind == "pnpm" || kind == "yarn") && !rest.empty() && rest[0] == "dlx") return npx_like(rest.subspan(1), depth), true;
    if (kind == "bun" && !rest.empty() && rest[0] == "x") return npx_like(rest.subspan(1), depth), true;
    if (kind == "uvx") return uvx_like(rest), true;
    if (kind == "uv") return uv(rest, depth);
    if (kind == "pipx" && !rest.empty() && rest[0] == "run") return pipx_run(rest.subspan(1)), true;
    if (kind == "python") return interpreted(rest, true, depth), true;
    if (is_interpreter_kind(kind)) return interpreted(without_run(rest), false, depth), true;
    if (kind == "sh" || kind == "bash" || kind == "dash" || kind == "zsh" || kind == "ash") return shell(rest, depth), true;
    if (kind == "docker" || kind == "podman" || kind == "nerdctl") return container(rest, depth);
    return false;
  }

  static View without_run(View rest) { return (!rest.empty() && rest[0] == "run") ? rest.subspan(1) : rest; }

  void env_like(View rest, int depth) { unwrap(env_program(rest), depth + 1); }

  void npx_like(View rest, int depth) {
    std::vector<std::string> packages;
    size_t i = 0;
    for (; i < rest.size(); ++i) {
      const std::string& a = rest[i];
      if (a == "--") {
        ++i;
        break;
      }
      if ((a == "-p" || a == "--package") && i + 1 < rest.size()) {
        packages.push_back(rest[++i]);
      } else if (starts_with(a, "--package=")) {
        packages.push_back(a.substr(10));
      } else if ((a == "-c" || a == "--call") && i + 1 < rest.size()) {
        unwrap(shell_split(rest[i + 1]), depth + 1);
        i = rest.size();
      } else if (one_of(a, kNpmValueFlags)) {
        ++i;
      } else if (!starts_with(a, "-")) {
        break;
      }
    }
    if (i < rest.size()) add(strip_npm_version(rest[i]));
    for (const auto& p : packages) add(strip_npm_version(p));
    if (i < rest.size() && is_interpreter_kind(program_kind(rest[i]))) unwrap(rest.subspan(i), depth + 1);
  }

  void uvx_like(View rest) {
    std::string from;
    for (size_t i = 0; i < rest.size(); ++i) {
      const std::string& a = rest[i];
      if (a == "--from" && i + 1 < rest.size()) {
        from = rest[++i];
      } else if (one_of(a, kUvValueFlags)) {
        ++i;
      } else if (!starts_with(a, "-")) {
        add(strip_python_spec(a));
        break;
      }
    }
    if (!from.empty()) add(strip_python_spec(from));
  }

  bool uv(View rest, int depth) {
    if (rest.size() >= 2 && rest[0] == "tool" && rest[1] == "run") return uvx_like(rest.subspan(2)), true;
    if (rest.empty() || rest[0] != "run") return false;
    for (size_t i = 1; i < rest.size(); ++i) {
      const std::string& a = rest[i];
      if (a == "--") return unwrap(rest.subspan(i + 1), depth + 1), true;
      if (one_of(a, kUvValueFlags)) {
        ++i;
      } else if (!starts_with(a, "-")) {
        return unwrap(rest.subspan(i), depth + 1), true;
      }
    }
    return true;
  }

  void pipx_run(View rest) {
    std::string spec;
    for (size_t i = 0; i < rest.size(); ++i) {
      const std::string& a = rest[i];
      if (a == "--spec" && i + 1 < rest.size()) {
        spec = rest[++i];
      } else if (one_of(a, kPipxValueFlags)) {
        ++i;
      } else if (!starts_with(a, "-")) {
        add(strip_python_spec(a));
        break;
      }
    }
    if (!spec.empty()) add(strip_python_spec(spec));
  }

  void interpreted(View rest, bool python, int depth) {
    size_t i = interpreter_operand(rest, python);
    if (i >= rest.size()) return;
    if (python && rest[i] == "-m") {
      if (i + 1 < rest.size()) module(rest[i + 1]);
      return;
    }
    const std::string kind = program_kind(rest[i]);
    if (one_of(kind, kLaunchers)) return unwrap(rest.subspan(i), depth + 1);
    script(rest[i]);
  }

  void module(const std::string& name) {
    add(name);
    add(name.substr(0, name.find('.')));
  }

  void shell(View rest, int depth) {
    for (size_t i = 0; i < rest.size(); ++i) {
      const std::string& a = rest[i];
      const bool has_c = starts_with(a, "-") && !starts_with(a, "--") && a.find('c') != std::string::npos;
      if (has_c) {
        if (i + 1 < rest.size()) command_string(rest[i + 1], depth);
        return;
      }
      if (!starts_with(a, "-")) return script(a);
    }
  }

  // "cd /x && exec npx -y pkg" → unwrap each simple command, skipping builtins and assignments.
  void command_string(std::string_view cmd, int depth) {
    std::vector<std::string> tokens = shell_split(cmd);
    size_t start = 0;
    for (size_t i = 0; i <= tokens.size(); ++i) {
      if (i < tokens.size() && tokens[i] != "|") continue;
      simple_command(View(tokens).subspan(start, i - start), depth);
      start = i + 1;
    }
  }

  void simple_command(View t, int depth) {
    while (!t.empty() && (t[0] == "exec" || (t[0].find('=') != std::string::npos && !starts_with(t[0], "-")))) t = t.subspan(1);
    if (t.empty() || one_of(t[0], kShellBuiltins)) return;
    unwrap(t, depth + 1);
  }

  bool container(View rest, int depth) {
    size_t i = 0;
    if (i < rest.size() && rest[i] == "container") ++i;
    if (i >= rest.size() || rest[i] != "run") return false;
    for (++i; i < rest.size(); ++i) {
      const std::string& a = rest[i];
      if (!starts_with(a, "-")) break;
      const bool long_opt = starts_with(a, "--");
      if (a.find('=') != std::string::npos) continue;
      if (long_opt ? one_of(a, kContainerLongValueFlags) : one_of(a, kContainerShortValueFlags)) ++i;
    }
    if (i >= rest.size()) return true;
    image(rest[i]);
    unwrap(rest.subspan(i + 1), depth + 1);
    return true;
  }

  // "ghcr.io/github/github-mcp-server:v1@sha256:…" → "github-mcp-server", "ghcr.io/github/github-mcp-server".
  void image(std::string_view ref) {
    ref = ref.substr(0, ref.find('@'));
    size_t colon = ref.rfind(':');
    size_t slash = ref.rfind('/');
    if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) ref = ref.substr(0, colon);
    add(base_name(ref));
    add(std::string(ref));
  }
};

void drop_trailing_empty(std::vector<std::string>& argv) {
  while (!argv.empty() && argv.back().empty()) argv.pop_back();
}

}  // namespace

std::string base_name(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::string program_kind(std::string_view path) {
  std::string b = lower(strip_script_extension(base_name(path)));
  if (b == "npx-cli") return "npx";
  if (b == "npm-cli") return "npm";
  if (b == "nodejs") return "node";
  if (is_python_name(b)) return "python";
  return b;
}

const std::set<std::string, std::less<>>& interpreter_kinds() {
  static const std::set<std::string, std::less<>> kinds = {"node", "python", "bun",  "deno", "tsx",
                                                           "ts-node", "ruby", "perl", "php"};
  return kinds;
}

bool is_interpreter_kind(std::string_view kind) { return interpreter_kinds().count(kind) > 0; }

std::vector<std::string> shell_split(std::string_view command) {
  std::vector<std::string> out;
  std::string cur;
  bool in_token = false;
  char quote = 0;
  auto flush = [&] {
    if (in_token) out.push_back(cur);
    cur.clear();
    in_token = false;
  };
  for (size_t i = 0; i < command.size(); ++i) {
    char c = command[i];
    if (quote) {
      if (c == quote) {
        quote = 0;
      } else if (c == '\\' && quote == '"' && i + 1 < command.size()) {
        cur += command[++i];
      } else {
        cur += c;
      }
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_token = true;
    } else if (c == '\\' && i + 1 < command.size()) {
      cur += command[++i];
      in_token = true;
    } else if (c == ';' || c == '&' || c == '|') {
      flush();
      if (out.empty() || out.back() != "|") out.push_back("|");
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      flush();
    } else {
      cur += c;
      in_token = true;
    }
  }
  flush();
  return out;
}

std::vector<std::string> normalize_argv(const std::vector<std::string>& argv) {
  std::vector<std::string> out = argv;
  drop_trailing_empty(out);
  if (out.size() == 1 && out[0].find(' ') != std::string::npos) out = shell_split(out[0]);
  for (int round = 0; round < kMaxDepth && !out.empty() && program_kind(out[0]) == "env"; ++round) {
    out = env_program(View(out).subspan(1));
  }
  return out;
}

std::vector<std::string> unwrapped_names(const std::vector<std::string>& argv) {
  std::vector<std::string> tokens = normalize_argv(argv);
  Unwrapper u;
  u.unwrap(tokens, 0);
  return u.names;
}

std::vector<std::string> launch_candidates(const std::vector<std::string>& argv, std::string_view exe_path) {
  std::vector<std::string> tokens = normalize_argv(argv);
  Unwrapper u;
  u.unwrap(tokens, 0);
  if (!argv.empty()) u.add(base_name(argv[0]));
  u.add(base_name(exe_path));
  return u.names;
}

bool spec_names_package(std::string_view spec, std::string_view name) {
  return spec == name || strip_npm_version(spec) == name || strip_python_spec(spec) == name;
}

std::vector<std::string> interpreter_script_names(const std::vector<std::string>& argv) {
  std::vector<std::string> tokens = normalize_argv(argv);
  Unwrapper u;
  if (tokens.empty()) return {};
  const std::string kind = program_kind(tokens[0]);
  if (!is_interpreter_kind(kind)) return {};
  View rest = View(tokens).subspan(1);
  size_t i = Unwrapper::interpreter_operand(rest, kind == "python");
  if (i >= rest.size()) return {};
  if (rest[i] == "-m") return i + 1 < rest.size() ? std::vector<std::string>{rest[i + 1]} : std::vector<std::string>{};
  std::string pkg = node_modules_package(rest[i]);
  u.add(pkg);
  if (!pkg.empty()) u.add(base_name(pkg));
  u.add(strip_script_extension(base_name(rest[i])));
  u.add(base_name(rest[i]));  // "mcp_client.mjs" as written, for globs that name the file
  return u.names;
}

}  // namespace credtrace::mcp::detail
