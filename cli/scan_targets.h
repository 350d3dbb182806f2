// Which files `credtrace scan` reads: named files, directory walks, or the current user's home by default.
#pragma once

#include <string>
#include <vector>

#include "credfiles/path_patterns.h"
#include "credfiles/safe_read.h"

namespace credtrace::cli {

struct ScanTarget {
  std::string path;
  credfiles::PathMatch match;
};

// A path that could not be looked at (an unreadable directory) or, when `fatal`, a named path that does not exist.
struct TargetProblem {
  std::string path;
  credfiles::FileError error = credfiles::FileError::io_error;
  std::string message;
  bool fatal = false;
};

struct TargetList {
  std::vector<ScanTarget> targets;
  std::vector<TargetProblem> problems;
};

struct WalkRules {
  const std::vector<credfiles::PathPattern>* patterns = nullptr;
  std::vector<std::string> skip_dirs;  // names never descended into (.git, node_modules by default)
};

// Named files are scanned whatever their name (format by pattern, else by extension: .json, .yaml/.yml, .ini/
// .cfg/.conf, else text). Directories are walked recursively without following symlinked directories; files
// (also symlinks and special files, which then fail as per-file errors) whose path matches a pattern are scanned.
TargetList targets_for_paths(const std::vector<std::string>& paths, const WalkRules& rules);

// The MCP client configs of `home` (agent/mcp's user locations) and every "~/" or bare-name pattern's files
// directly under it (~/.aws/credentials, ~/.ssh/id_*, ~/.netrc, ~/.env, …); only files that exist.
TargetList targets_in_home(const std::string& home, const WalkRules& rules);

// $HOME, else the passwd entry of the real uid; "" when neither is known.
std::string current_home();

}  // namespace credtrace::cli
