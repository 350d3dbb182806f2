// The ledger of processes the kernel stopped for the agent (tls.hold_exec_until_attached): pinned in bpffs so that a
// process an agent never continued (it died between the stop and its SIGCONT) is continued by the next agent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace credtrace::loader {

inline constexpr const char* kHeldLedgerPath = "/sys/fs/bpf/credtrace/held_processes";

// Continues (SIGCONT) every process listed in the ledger map whose start time still matches (a reused pid is left
// alone) and empties the map. Returns the processes continued.
size_t continue_held(int ledger_fd, const std::string& proc_root = "/proc");

// A ledger pinned by an earlier agent at path: its processes continued, the pin removed. Returns the processes
// continued (0 when there was none); a pin that cannot be opened is removed and reported in *error.
size_t continue_pinned_ledger(const std::string& path, std::string* error, const std::string& proc_root = "/proc");

}  // namespace credtrace::loader
