// `credtrace wrap CONFIG [--undo] [--dry-run] [--credtrace PATH]`: an MCP client config's stdio servers through
// `credtrace run`, and back.
#pragma once

#include <ostream>
#include <string>

namespace credtrace::cli {

struct WrapOptions {
  std::string config;     // the client config file (JSON)
  bool undo = false;      // unwrap what wrap wrapped
  bool dry_run = false;   // print what would change, write nothing
  std::string credtrace;  // the credtrace executable written as "command"; "" = this one
};

inline constexpr const char* kWrapBackupSuffix = ".credtrace-backup";

// Exit 0 (changed, or nothing to change), 2 error (message on stderr through the logger). Prints what changed.
int run_wrap(const WrapOptions& options, std::ostream& out);

}  // namespace credtrace::cli
