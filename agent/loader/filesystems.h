// Kernel pseudo-filesystems the probes need (tracefs for syscall tracepoints, bpffs for the held-process ledger),
// mounted when absent.
#pragma once

#include <string>

namespace credtrace::loader {

// Makes sure tracefs is reachable at /sys/kernel/tracing (or the legacy debugfs path); mounts it when absent.
// Returns "" on success or a message saying what failed.
std::string ensure_tracefs();

// Makes sure a BPF filesystem is mounted at dir (/sys/fs/bpf); mounts one when absent (*mounted: true then).
// "" or what failed.
std::string ensure_bpffs(const std::string& dir, bool* mounted);

}  // namespace credtrace::loader
