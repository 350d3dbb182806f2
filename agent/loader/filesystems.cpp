// Kernel pseudo-filesystems: detects tracefs and bpffs and mounts them (/sys/kernel/tracing, /sys/fs/bpf) when missing.
#include "loader/filesystems.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace credtrace::loader {
namespace {

bool has_events_dir(const std::string& root) {
  struct stat st{};
  return ::stat((root + "/events").c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

constexpr long kBpfFsMagic = 0xcafe4a11;

bool is_bpffs(const std::string& dir) {
  struct statfs fs{};
  return ::statfs(dir.c_str(), &fs) == 0 && static_cast<long>(fs.f_type) == kBpfFsMagic;
}

}  // namespace

std::string ensure_bpffs(const std::string& dir, bool* mounted) {
  *mounted = false;
  if (is_bpffs(dir)) return "";
  if (::mount("bpf", dir.c_str(), "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700") != 0)
    return "cannot mount bpffs at " + dir + ": " + std::strerror(errno);
  *mounted = true;
  return is_bpffs(dir) ? "" : "mounted bpffs at " + dir + " but it is not a BPF filesystem";
}

std::string ensure_tracefs() {
  const std::string tracefs = "/sys/kernel/tracing";
  if (has_events_dir(tracefs) || has_events_dir("/sys/kernel/debug/tracing")) return "";
  if (::mount("tracefs", tracefs.c_str(), "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
    return "cannot mount tracefs at " + tracefs + ": " + std::strerror(errno);
  if (!has_events_dir(tracefs)) return "tracefs mounted at " + tracefs + " but has no events directory";
  return "";
}

}  // namespace credtrace::loader
