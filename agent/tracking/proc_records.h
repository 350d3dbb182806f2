// Process records from the two places they come from: a kernel exec record, and /proc (processes found running,
// recovered after a lost event). Also the readable name of a program and the start-time comparison.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "events.h"
#include "tracking/process_table.h"

namespace credtrace::tracking {

// Marks a synthetic exit record built for an exit that was not observed (no kernel flag uses this bit).
constexpr uint32_t kExitNotObserved = 1u << 31;

process::ProcessRecord record_from_exec(const ct_exec_event& e);
// nullopt when the process is gone or is a kernel thread (no argv).
std::optional<process::ProcessRecord> record_from_proc(uint32_t pid, const std::string& proc_root);

// A readable name for a process found by protocol only: the script an interpreter runs, else the program. Taken
// from the redacted argv and never from inline code (sh -c, python -c, node -e) or NAME=VALUE words, which can
// hold secrets; anything doubtful falls back to the executable's file name.
std::string program_name(const std::vector<std::string>& argv, const std::string& exe);

// Start times compared at /proc's clock-tick resolution (USER_HZ = 100): records found in /proc have no finer one.
bool same_start(uint64_t a_boot_ns, uint64_t b_boot_ns);

}  // namespace credtrace::tracking
