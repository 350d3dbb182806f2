// Per-server env secret usage: exposures, observed reads and observability, summarised at the server's end.
#include "sensors/preload/env_usage.h"

#include <array>

#include "mcp/argv_unwrap.h"

namespace credtrace::sensors {

std::optional<std::string> env_reads_unobservable(std::string_view exe) {
  struct Runtime {
    std::string_view prefix;
    std::string_view why;
  };
  static constexpr std::array<Runtime, 10> kCopiesAtStart{{
      {"python", "python copies the environment at start (os.environ)"},
      {"perl", "perl copies the environment at start (%ENV)"},
      {"java", "the JVM copies the environment at start (System.getenv)"},
      {"bash", "the shell copies the environment into its variables at start"},
      {"dash", "the shell copies the environment into its variables at start"},
      {"sh", "the shell copies the environment into its variables at start"},
      {"zsh", "the shell copies the environment into its variables at start"},
      {"ksh", "the shell copies the environment into its variables at start"},
      {"fish", "the shell copies the environment into its variables at start"},
      {"busybox", "the shell copies the environment into its variables at start"},
  }};
  for (const auto& runtime : kCopiesAtStart) {
    if (!exe.starts_with(runtime.prefix)) continue;
    const std::string_view rest = exe.substr(runtime.prefix.size());
    // python3, python3.11, perl5.36, java; not "shasum" or "javac"-like names that only share the first letters.
    if (rest.empty() || rest.find_first_not_of("0123456789.") == std::string_view::npos) return std::string(runtime.why);
  }
  return std::nullopt;
}

bool passes_environment_on(const std::vector<std::string>& argv) {
  const std::vector<std::string> launch = mcp::detail::normalize_argv(argv);
  if (launch.empty()) return argv.size() > 0 && mcp::detail::program_kind(argv[0]) == "env";
  std::string kind = mcp::detail::program_kind(launch[0]);
  size_t verb = 1;
  if (mcp::detail::is_interpreter_kind(kind) && launch.size() > 1) {  // node /usr/bin/npx …
    kind = mcp::detail::program_kind(launch[1]);
    verb = 2;
  }
  const std::string_view next = launch.size() > verb ? std::string_view(launch[verb]) : std::string_view();
  if (kind == "npx" || kind == "bunx" || kind == "uvx" || kind == "env") return true;
  if (kind == "npm") return next == "exec" || next == "x";
  if (kind == "pnpm" || kind == "yarn") return next == "dlx" || next == "exec";
  if (kind == "uv") return next == "run" || next == "tool";
  if (kind == "pipx") return next == "run";
  return false;
}

bool shell_reads_nothing(const std::vector<std::string>& argv) {
  if (argv.size() != 3 || argv[1] != "-c") return false;
  return argv[2].find_first_of("$`") == std::string::npos;
}

EnvUsageBook::Secret* EnvUsageBook::secret(uint32_t server_pid, const std::string& name) {
  Server& server = servers_[server_pid];
  auto it = server.secrets.find(name);
  if (it != server.secrets.end()) return &it->second;
  if (server.secrets.size() >= kMaxNamesPerServer) return nullptr;
  return &server.secrets[name];
}

void EnvUsageBook::expose(uint32_t server_pid, const std::string& name, const credtrace::v1::Credential& credential) {
  Secret* s = secret(server_pid, name);
  if (!s) return;
  if (!s->exposed && !s->credential.has_fingerprint()) s->credential = events::KeptCredential(credential);
  s->exposed = true;
}

void EnvUsageBook::read(uint32_t server_pid, uint32_t pid, const std::string& name,
                        const credtrace::v1::Credential& credential, uint64_t reads, bool launcher) {
  Secret* s = secret(server_pid, name);
  if (!s) return;
  if (!s->credential.has_fingerprint()) s->credential = events::KeptCredential(credential);
  s->reads += reads;
  s->used = s->used || !launcher;
  if (s->readers.size() < kMaxListed) s->readers.insert(pid);
}

void EnvUsageBook::observed(uint32_t server_pid, uint32_t pid) {
  Server& server = servers_[server_pid];
  server.observed.insert(pid);
  server.unobservable.erase(pid);  // a later image of the process (a shell that exec'd) decides
}

void EnvUsageBook::not_observable(uint32_t server_pid, uint32_t pid, const std::string& why) {
  Server& server = servers_[server_pid];
  if (server.unobservable.size() < kMaxListed || server.unobservable.count(pid)) server.unobservable[pid] = why;
  else server.unobservable[UINT32_MAX] = "… more processes not observable";
}

std::optional<credtrace::v1::EnvSecretUsage> EnvUsageBook::finish(uint32_t server_pid) {
  auto it = servers_.find(server_pid);
  if (it == servers_.end()) return std::nullopt;
  Server server = std::move(it->second);
  servers_.erase(it);
  if (server.secrets.empty()) return std::nullopt;
  credtrace::v1::EnvSecretUsage usage;
  const bool complete = server.unobservable.empty() && !server.observed.empty();
  usage.set_observability(complete ? "observed" : server.observed.empty() ? "not_observable" : "partial");
  usage.set_processes_observed(static_cast<uint32_t>(server.observed.size()));
  for (const auto& [pid, why] : server.unobservable) usage.add_not_observable(why);
  for (auto& [name, s] : server.secrets) {
    auto* out = usage.add_secrets();
    out->set_name(name);
    *out->mutable_credential() = s.credential.to_proto();
    out->set_reads(s.reads);
    // Reads by launchers alone pass the value on: with every process observed, the program never used it.
    out->set_status(s.used ? "read" : !complete ? "not_observed" : s.reads ? "passed_on" : "never_read");
    for (uint32_t pid : s.readers) out->add_pids(pid);
  }
  return usage;
}

std::vector<uint32_t> EnvUsageBook::servers() const {
  std::vector<uint32_t> out;
  for (const auto& [pid, _] : servers_) out.push_back(pid);
  return out;
}

}  // namespace credtrace::sensors
