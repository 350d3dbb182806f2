// Secret-file sensor: opens by watched processes matched against credential path patterns, each file read once
// per workload and version (size, mtime), in the root the opening process saw (pinned: it may have exited).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "credfiles/credential_file.h"
#include "events.h"
#include "sensors/files/file_roots.h"

namespace credtrace::sensors {

struct FileReadStats {
  uint64_t opens = 0;         // open events of watched processes
  uint64_t matched = 0;       // their paths matched a credential pattern
  uint64_t scanned = 0;       // files read and parsed
  uint64_t repeats = 0;       // matched files already reported for the workload in this version
  uint64_t not_found = 0;     // opens of files that do not exist (probes for optional .env files): not reported
  uint64_t unresolved = 0;    // relative paths whose directory could not be found
  uint64_t root_unavailable = 0;  // the process exited and no pinned root of its namespace was left to read in
  uint64_t read_after_exit = 0;   // read in a pinned root after the opening process was gone
  std::map<std::string, uint64_t> errors;  // read/parse failures by file_error_name
};

// A credential file read for an open: the scan, and how far the read may be from what the process read.
struct FileRead {
  credfiles::FileScan scan;  // findings hold raw values: the caller exports them and drops the scan
  uint64_t read_delay_ms = 0;        // between the open and the agent's read
  bool modified_after_open = false;  // the file's mtime or ctime is later than the open: content may differ
};

class FileReadSensor {
 public:
  FileReadSensor(std::vector<credfiles::PathPattern> patterns, std::string proc_root, size_t max_bytes);
  // A reload: opens from now on are matched and capped by these (what was reported stays reported).
  void set_patterns(std::vector<credfiles::PathPattern> patterns) { patterns_ = std::move(patterns); }
  void set_max_bytes(size_t max_bytes) { max_bytes_ = max_bytes; }

  // The read of the file `e` opened when its path matches a pattern and the workload has not seen this version of
  // it; nullopt otherwise.
  std::optional<FileRead> on_open(const ct_file_open_event& e, const std::string& workload_id);
  // Absolute path of what `e` opened, as the process saw it ("" when a relative path cannot be resolved): the
  // directory the kernel walked at the open, else the process's cwd or dirfd in /proc while it still runs.
  std::string absolute_path(const ct_file_open_event& e) const;
  // A watched process: its root is pinned while it (or any process in the same root) is watched.
  void on_watched(uint32_t pid) { roots_.pin_process(pid); }
  void on_exit(uint32_t pid) { roots_.release_process(pid, RootPins::Clock::now()); }
  void expire_roots() { roots_.expire(RootPins::Clock::now()); }
  size_t roots_pinned() const { return roots_.pinned(); }
  const FileReadStats& stats() const { return stats_; }

 private:
  // (workload, path, size, mtime): a file is reported again when it changes.
  using Version = std::tuple<std::string, std::string, int64_t, int64_t>;
  std::optional<struct stat> stat_in(const std::string& root, const std::string& path) const;

  std::vector<credfiles::PathPattern> patterns_;
  std::string proc_root_;
  size_t max_bytes_;
  RootPins roots_;
  std::set<Version> reported_;
  FileReadStats stats_;
};

// The directory names of a kernel walk (leaf first, NUL-separated) as an absolute path; "" when not walked.
std::string walked_directory(const ct_file_open_event& e);

}  // namespace credtrace::sensors
