// Options of `credtrace scan`, as given on the command line.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "credfiles/safe_read.h"

namespace credtrace::cli {

enum class OutputFormat { text, json, sarif };

struct ScanOptions {
  std::vector<std::string> paths;       // files and directories; empty: the current user's home
  OutputFormat format = OutputFormat::text;
  std::string fingerprint_key_file;     // --fingerprint-key-file; else $CREDTRACE_FINGERPRINT_KEY_FILE; else random
  size_t max_file_bytes = credfiles::kDefaultMaxFileBytes;
  std::vector<std::string> skip_dirs = {".git", "node_modules"};  // directory names not descended into
};

}  // namespace credtrace::cli
