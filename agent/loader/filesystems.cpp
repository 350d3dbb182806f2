// Kernel pseudo-filesystems: detects tracefs and mounts it at /sys/kernel/tracing when it is missing.
#include "loader/filesystems.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace credtrace::loader {
namespace {

bool has_events_dir(const std::string& root) {
  struct stat st{};
  return ::stat((root + "/events").c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

std::string ensure_tracefs() {
  const std::string tracefs = "/sys/kernel/tracing";
  if (has_events_dir(tracefs) || has_events_dir("/sys/kernel/debug/tracing")) return "";
  if (::mount("tracefs", tracefs.c_str(), "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
    return "cannot mount tracefs at " + tracefs + ": " + std::strerror(errno);
  if (!has_events_dir(tracefs)) return "tracefs mounted at " + tracefs + " but has no events directory";
  return "";
}

}  // namespace credtrace::loader
