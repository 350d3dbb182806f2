// Secret-file sensor: opens by watched processes matched against credential path patterns, each file read once
// per workload and version (size, mtime), through the opening process's root.
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

namespace credtrace::sensors {

struct FileReadStats {
  uint64_t opens = 0;         // open events of watched processes
  uint64_t matched = 0;       // their paths matched a credential pattern
  uint64_t scanned = 0;       // files read and parsed
  uint64_t repeats = 0;       // matched files already reported for the workload in this version
  uint64_t not_found = 0;     // opens of files that do not exist (probes for optional .env files): not reported
  uint64_t unresolved = 0;    // relative paths whose directory could not be found
  std::map<std::string, uint64_t> errors;  // read/parse failures by file_error_name
};

class FileReadSensor {
 public:
  FileReadSensor(std::vector<credfiles::PathPattern> patterns, std::string proc_root, size_t max_bytes);

  // The scan of the file `e` opened when its path matches a pattern and the workload has not seen this version of
  // it; nullopt otherwise. The scan's findings hold raw values: the caller exports them and drops the scan.
  std::optional<credfiles::FileScan> on_open(const ct_file_open_event& e, const std::string& workload_id);
  // Absolute path of what `e` opened, as the process sees it ("" when a relative path cannot be resolved).
  std::string absolute_path(const ct_file_open_event& e) const;
  const FileReadStats& stats() const { return stats_; }

 private:
  // (workload, path, size, mtime): a file is reported again when it changes.
  using Version = std::tuple<std::string, std::string, int64_t, int64_t>;
  std::optional<Version> version_of(const std::string& workload_id, uint32_t pid, const std::string& path) const;

  std::vector<credfiles::PathPattern> patterns_;
  std::string proc_root_;
  size_t max_bytes_;
  std::set<Version> reported_;
  FileReadStats stats_;
};

}  // namespace credtrace::sensors
