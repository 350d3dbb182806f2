// Kernel pseudo-filesystems the probes need (tracefs for syscall tracepoints), mounted when absent.
#pragma once

#include <string>

namespace credtrace::loader {

// Makes sure tracefs is reachable at /sys/kernel/tracing (or the legacy debugfs path); mounts it when absent.
// Returns "" on success or a message saying what failed.
std::string ensure_tracefs();

}  // namespace credtrace::loader
