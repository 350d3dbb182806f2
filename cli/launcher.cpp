// The `credtrace` executable: `credtrace run` here (libc and libstdc++ only, so a wrapped server starts fast);
// every other command is handed to credtrace-cli (CLI11, protobuf, libcurl, ...) with execv.
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "run_command.h"

namespace {

constexpr const char* kFullCliName = "credtrace-cli";
constexpr const char* kLauncherEnv = "CREDTRACE_LAUNCHER";  // this executable's path, for `credtrace wrap`

std::string self_executable() {
  std::array<char, 4096> buffer{};
  ssize_t n = ::readlink("/proc/self/exe", buffer.data(), buffer.size() - 1);
  return n > 0 ? std::string(buffer.data(), static_cast<std::size_t>(n)) : std::string();
}

// Execs credtrace-cli from this executable's directory, else <dir>/../lib/credtrace/; returns only on failure.
int exec_full_cli(char** argv) {
  std::string dir = credtrace::cli::self_executable_dir();
  std::string self = self_executable();
  if (!self.empty()) ::setenv(kLauncherEnv, self.c_str(), 1);
  std::string tried;
  for (const std::string& candidate : {dir + "/" + kFullCliName, dir + "/../lib/credtrace/" + kFullCliName}) {
    ::execv(candidate.c_str(), argv);
    tried += (tried.empty() ? "" : ", ") + candidate + " (" + std::strerror(errno) + ")";
  }
  std::string line = "credtrace: error: cannot start " + std::string(kFullCliName) + ": tried " + tried + "\n";
  (void)!::write(STDERR_FILENO, line.data(), line.size());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "run") == 0) return credtrace::cli::run_command(argc - 1, argv + 1);
  return exec_full_cli(argv);
}
