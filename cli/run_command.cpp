// `credtrace run`: option parsing, preload library lookup, LD_PRELOAD composition and the execvp. Light on purpose
// (libc and libstdc++ only): it is linked into the small `credtrace` launcher so a wrapped server starts fast.
#include "run_command.h"

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <vector>

namespace credtrace::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kRunUsage =
    "Usage: credtrace run [--name NAME] [--preload PATH] [--] CMD [ARGS...]\n"
    "\n"
    "Runs CMD with libcredtrace-preload.so in LD_PRELOAD (put first; existing entries kept; never added twice).\n"
    "credtrace run becomes CMD (execvp): same pid, CMD's exit status and signals are CMD's own, nothing stays\n"
    "behind. Use it as an MCP client config's \"command\" (`credtrace wrap CONFIG` rewrites a config for you).\n"
    "\n"
    "Options:\n"
    "  --name NAME     Set CREDTRACE_SERVER_NAME=NAME (the MCP server's name in the client config)\n"
    "  --preload PATH  The preload library. Default: $CREDTRACE_PRELOAD_LIB, else libcredtrace-preload.so in\n"
    "                  this executable's directory, its ../lib/credtrace/, or /usr/lib/credtrace/\n"
    "  -h, --help      This help\n"
    "\n"
    "Without the library CMD still runs, without the preload, after a warning on stderr.\n"
    "Exit status: CMD's; 127 CMD not found, 126 CMD not executable, 125 bad usage of credtrace run.\n";

void say(const char* level, const std::string& message) {
  std::string line = std::string("credtrace run: ") + level + ": " + message + "\n";
  (void)!::write(STDERR_FILENO, line.data(), line.size());
}

struct RunArgs {
  std::string name;
  bool has_name = false;
  std::string preload;
  int command_index = 0;  // argv index of CMD; 0 when none
  bool help = false;
  std::string error;
};

// One option at argv[i] (with its value at argv[i+1] or after '='); returns how many items it took, 0 if none.
int take_option(int argc, char** argv, int i, RunArgs& out) {
  std::string_view arg = argv[i];
  for (const char* name : {"--name", "--preload"}) {
    std::string_view flag = name;
    std::string* value = flag == "--name" ? &out.name : &out.preload;
    if (arg == flag) {
      if (i + 1 >= argc) {
        out.error = std::string(name) + " needs a value";
        return 1;
      }
      *value = argv[i + 1];
      out.has_name = out.has_name || flag == "--name";
      return 2;
    }
    if (arg.size() > flag.size() && arg.substr(0, flag.size() + 1) == std::string(flag) + "=") {
      *value = std::string(arg.substr(flag.size() + 1));
      out.has_name = out.has_name || flag == "--name";
      return 1;
    }
  }
  return 0;
}

RunArgs parse_run_args(int argc, char** argv) {
  RunArgs out;
  int i = 1;
  while (i < argc && out.error.empty()) {
    std::string_view arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg == "-h" || arg == "--help") {
      out.help = true;
      return out;
    }
    int taken = take_option(argc, argv, i, out);
    if (taken > 0) {
      i += taken;
      continue;
    }
    if (arg.size() > 1 && arg[0] == '-') {
      out.error = "unknown option " + std::string(arg) + " (put -- before a command that starts with '-')";
      break;
    }
    break;  // CMD
  }
  if (!out.error.empty()) return out;
  if (out.has_name && out.name.empty()) out.error = "--name needs a non-empty value";
  else if (i >= argc) out.error = "no command given";
  else out.command_index = i;
  return out;
}

bool readable_file(const std::string& path, std::string& problem) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    problem = path + ": " + std::strerror(errno);
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    problem = path + ": not a regular file";
    return false;
  }
  if (::access(path.c_str(), R_OK) != 0) {
    problem = path + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

std::string basename_of(const std::string& path) {
  std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::string self_executable_dir() {
  std::array<char, 4096> buffer{};
  ssize_t n = ::readlink("/proc/self/exe", buffer.data(), buffer.size() - 1);
  if (n <= 0) return "";
  std::string exe(buffer.data(), static_cast<std::size_t>(n));
  std::size_t slash = exe.rfind('/');
  return slash == std::string::npos ? "" : exe.substr(0, slash == 0 ? 1 : slash);
}

std::string absolute_path(const std::string& path) {
  std::error_code ec;
  fs::path absolute = fs::absolute(fs::path(path), ec);
  if (ec) return path;
  return absolute.lexically_normal().string();
}

PreloadLookup find_preload_library(const std::string& explicit_path) {
  PreloadLookup lookup;
  std::string given = explicit_path;
  std::string origin = "--preload";
  if (given.empty()) {
    const char* env = std::getenv(kPreloadLibraryEnv);
    if (env != nullptr && *env != '\0') {
      given = env;
      origin = std::string("$") + kPreloadLibraryEnv;
    }
  }
  if (!given.empty()) {
    std::string path = absolute_path(given);
    if (readable_file(path, lookup.problem)) lookup.path = path;
    else lookup.problem = origin + " " + lookup.problem;
    return lookup;
  }
  std::vector<std::string> candidates;
  std::string dir = self_executable_dir();
  if (!dir.empty()) {
    candidates.push_back(dir + "/" + kPreloadLibraryName);
    candidates.push_back(dir + "/../lib/credtrace/" + kPreloadLibraryName);
  }
  candidates.push_back(std::string("/usr/lib/credtrace/") + kPreloadLibraryName);
  std::string ignored;
  for (const std::string& candidate : candidates) {
    std::string path = absolute_path(candidate);
    if (readable_file(path, ignored)) {
      lookup.path = path;
      return lookup;
    }
  }
  lookup.problem = std::string(kPreloadLibraryName) + " not found (no --preload, no $" + kPreloadLibraryEnv +
                   "; looked in " + (dir.empty() ? "" : dir + ", " + absolute_path(dir + "/../lib/credtrace") + ", ") +
                   "/usr/lib/credtrace)";
  return lookup;
}

bool is_credtrace_library(const std::string& entry, const std::string& library) {
  if (entry.empty()) return false;
  std::string base = basename_of(entry);
  return entry == library || base == basename_of(library) || base == kPreloadLibraryName;
}

std::string ld_preload_with(const char* current, const std::string& library) {
  std::string existing = current == nullptr ? "" : current;
  std::size_t start = 0;
  while (start <= existing.size()) {
    std::size_t end = existing.find_first_of(": \t", start);
    if (end == std::string::npos) end = existing.size();
    if (is_credtrace_library(existing.substr(start, end - start), library)) return existing;
    start = end + 1;
  }
  bool blank = existing.find_first_not_of(": \t") == std::string::npos;
  return blank ? library : library + ":" + existing;
}

int run_command(int argc, char** argv) {
  RunArgs args = parse_run_args(argc, argv);
  if (args.help) {
    std::fputs(kRunUsage, stdout);
    return 0;
  }
  if (!args.error.empty()) {
    say("error", args.error + "\nUsage: credtrace run [--name NAME] [--preload PATH] [--] CMD [ARGS...]");
    return kRunUsageError;
  }
  const char* command = argv[args.command_index];
  PreloadLookup lookup = find_preload_library(args.preload);
  if (lookup.path.empty()) {
    say("warn", lookup.problem + "; running " + command + " without the preload sensor");
  } else {
    ::setenv("LD_PRELOAD", ld_preload_with(std::getenv("LD_PRELOAD"), lookup.path).c_str(), 1);
  }
  if (args.has_name) ::setenv(kServerNameEnv, args.name.c_str(), 1);
  ::unsetenv("CREDTRACE_LAUNCHER");  // set by the launcher for credtrace-cli (`credtrace --log-level x run ...`)
  ::execvp(command, argv + args.command_index);
  int error = errno;
  bool not_found = error == ENOENT || error == ENOTDIR;
  say("error", std::string(command) + ": " + (not_found && std::strchr(command, '/') == nullptr
                                                   ? std::string("command not found")
                                                   : std::string(std::strerror(error))));
  return not_found ? kRunNotFound : kRunCannotExecute;
}

}  // namespace credtrace::cli
