// Which env secrets each server's processes read: the secrets its environment exposed, the reads the preload saw,
// and which processes could not be observed (no preload, or a runtime that copies the environment at start), folded
// into one EnvSecretUsage per server: "never_read" is said only when every process of the server was observed.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "credtrace/v1/events.pb.h"
#include "events/credential_facts.h"

namespace credtrace::sensors {

// Why reads of this executable are not observable through getenv, or nullopt when they are.
std::optional<std::string> env_reads_unobservable(std::string_view exe);
// A launcher (npx, npm exec, pnpm dlx, bunx, yarn dlx, uvx, uv run, pipx run, env): it reads every variable to pass
// the environment on to the program it starts, so its reads are not uses.
bool passes_environment_on(const std::vector<std::string>& argv);
// `sh -c 'COMMAND'` whose command names no variable ($, `): the shell cannot have read one, only passed them on.
bool shell_reads_nothing(const std::vector<std::string>& argv);

class EnvUsageBook {
 public:
  static constexpr size_t kMaxNamesPerServer = 512;
  static constexpr size_t kMaxListed = 32;  // pids per secret, not-observable processes per server

  void expose(uint32_t server_pid, const std::string& name, const credtrace::v1::Credential& credential);
  // launcher: the reader only passes the environment on (passes_environment_on).
  void read(uint32_t server_pid, uint32_t pid, const std::string& name, const credtrace::v1::Credential& credential,
            uint64_t reads, bool launcher);
  void observed(uint32_t server_pid, uint32_t pid);
  void not_observable(uint32_t server_pid, uint32_t pid, const std::string& why);
  bool knows(uint32_t server_pid) const { return servers_.count(server_pid) > 0; }
  // The server's summary (and forgets it); nullopt when it exposed and read nothing.
  std::optional<credtrace::v1::EnvSecretUsage> finish(uint32_t server_pid);
  std::vector<uint32_t> servers() const;

 private:
  struct Secret {
    events::KeptCredential credential;  // kept for every watched server's env secrets: compact
    bool exposed = false;
    uint64_t reads = 0;
    bool used = false;  // read by a process that is not a launcher
    std::set<uint32_t> readers;
  };
  struct Server {
    std::map<std::string, Secret> secrets;
    std::set<uint32_t> observed;
    std::map<uint32_t, std::string> unobservable;  // pid → "PID EXE: reason"
  };
  Secret* secret(uint32_t server_pid, const std::string& name);

  std::map<uint32_t, Server> servers_;
};

}  // namespace credtrace::sensors
