// `credtrace run`: finds libcredtrace-preload.so, puts it into LD_PRELOAD and becomes the command (execvp).
#pragma once

#include <string>

namespace credtrace::cli {

inline constexpr const char* kPreloadLibraryName = "libcredtrace-preload.so";
inline constexpr const char* kPreloadLibraryEnv = "CREDTRACE_PRELOAD_LIB";
inline constexpr const char* kServerNameEnv = "CREDTRACE_SERVER_NAME";
inline constexpr int kRunUsageError = 125;  // credtrace run itself failed (as env(1), nice(1), timeout(1))
inline constexpr int kRunCannotExecute = 126;
inline constexpr int kRunNotFound = 127;

// Where the preload library is: `explicit_path` (--preload), else $CREDTRACE_PRELOAD_LIB, else the first readable
// regular file of <dir of /proc/self/exe>/, <dir>/../lib/credtrace/, /usr/lib/credtrace/. `path` is absolute (not
// symlink-resolved) or empty, with `problem` saying why.
struct PreloadLookup {
  std::string path;
  std::string problem;
};
PreloadLookup find_preload_library(const std::string& explicit_path);

// The directory of this process's executable (/proc/self/exe), or "" when it cannot be read.
std::string self_executable_dir();

// `path` made absolute against the working directory and lexically normalised (symlinks are kept).
std::string absolute_path(const std::string& path);

// True when `entry` (an LD_PRELOAD or ld.so.preload entry) is `library` or another copy of the credtrace library.
bool is_credtrace_library(const std::string& entry, const std::string& library);

// LD_PRELOAD with `library` put first; `current` (may be null) is kept as it is, and returned unchanged when it
// already holds `library` or another libcredtrace-preload.so (never loaded twice).
std::string ld_preload_with(const char* current, const std::string& library);

// `credtrace run [--name NAME] [--preload PATH] [--] CMD ARGS...`; argv[0] is "run". Returns only when the command
// could not be executed (127 not found, 126 not executable) or on bad usage (125); --help returns 0.
int run_command(int argc, char** argv);

}  // namespace credtrace::cli
