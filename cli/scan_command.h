// `credtrace scan`: targets, scanning, fingerprinting and the chosen output; returns the process exit code.
#pragma once

#include <ostream>

#include "scan_options.h"

namespace credtrace::cli {

inline constexpr int kExitClean = 0;     // nothing hard-coded found
inline constexpr int kExitFindings = 1;  // at least one credential
inline constexpr int kExitError = 2;     // bad usage, a named path that does not exist, an unusable key file

// Writes the report to `out` and problems that prevent a report to the log. Never throws.
int run_scan(const ScanOptions& options, std::ostream& out);

}  // namespace credtrace::cli
