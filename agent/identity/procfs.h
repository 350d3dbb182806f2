// Readers for one process's /proc entries (status, cmdline, environ, exe, cwd, cgroup, stat), under a configurable proc root.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace credtrace::identity {

inline constexpr size_t kMaxCmdlineBytes = 256 * 1024;
inline constexpr size_t kMaxEnvironBytes = 256 * 1024;

struct ProcStatus {
  int32_t pid = 0, ppid = 0, tgid = 0;
  uint32_t uid = 0, euid = 0, gid = 0;
  std::string name;  // "Name:" from status (comm, kernel-escaped)
};

// nullopt when the file cannot be read or has no Pid line.
std::optional<ProcStatus> read_status(int32_t pid, const std::string& proc_root = "/proc");

// argv split at NULs (empty vector for kernel threads); nullopt when unreadable. Capped at kMaxCmdlineBytes.
std::optional<std::vector<std::string>> read_cmdline(int32_t pid, const std::string& proc_root = "/proc");

// How many reads of cmdline and environ stopped at their caps since start (a hostile or huge process), for
// agent_health (sensors procfs_cmdline_truncated, procfs_environ_truncated).
struct ProcfsTruncations {
  uint64_t cmdline = 0, environ = 0;
};
ProcfsTruncations procfs_truncations();

// Splits a NUL-separated buffer; a trailing NUL does not produce an empty last element.
std::vector<std::string> split_nul(std::string_view raw);

// environ as NAME=VALUE pairs (split at the first '='; entries without '=' get an empty value).
// The raw buffer is zeroed (OPENSSL_cleanse) before returning. Capped at kMaxEnvironBytes: past the cap the entry
// cut by it is left out and the truncation counted.
std::optional<std::vector<std::pair<std::string, std::string>>> read_environ(int32_t pid,
                                                                           const std::string& proc_root = "/proc");

// readlink of /proc/PID/exe with a trailing " (deleted)" removed; "" on failure.
std::string read_exe(int32_t pid, const std::string& proc_root = "/proc");

// readlink of /proc/PID/cwd; "" on failure.
std::string read_cwd(int32_t pid, const std::string& proc_root = "/proc");

// Whole content of /proc/PID/cgroup; "" on failure.
std::string read_cgroup_file(int32_t pid, const std::string& proc_root = "/proc");

// /proc/PID/stat field 22 (start time, clock ticks since boot) in nanoseconds since boot.
std::optional<uint64_t> read_start_time_ns(int32_t pid, const std::string& proc_root = "/proc");

// Numeric entries of the proc root, ascending.
std::vector<int32_t> list_pids(const std::string& proc_root = "/proc");

// The direct children of pid, from /proc/PID/task/*/children (every thread's; CONFIG_PROC_CHILDREN), ascending:
// a few reads instead of every process's status. nullopt when a task has no such file (a kernel without it, a proc
// root made by a test) or the process is gone: the caller then falls back to the ppid of every process.
std::optional<std::vector<int32_t>> read_children(int32_t pid, const std::string& proc_root = "/proc");

// Wall-clock time of boot in ns since the Unix epoch (CLOCK_REALTIME - CLOCK_BOOTTIME, else /proc/stat btime).
uint64_t boot_time_unix_ns();

}  // namespace credtrace::identity
