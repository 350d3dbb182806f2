// MCP config exposure scanner: every MCP client config on the host is scanned for hard-coded credentials at start
// and again whenever it changes (inotify on its directory, so editors' write-and-rename saves are seen).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "credfiles/credential_file.h"

namespace credtrace::sensors {

struct ConfigExposureStats {
  uint64_t files_watched = 0;
  uint64_t scans = 0;          // files read and parsed (start, changes)
  uint64_t unchanged = 0;      // change notifications whose content was the same: not reported again
  uint64_t watch_failures = 0; // directories inotify could not watch (the file is still scanned at start)
  std::map<std::string, uint64_t> errors;  // read/parse failures by file_error_name
};

class ConfigExposureScanner {
 public:
  explicit ConfigExposureScanner(size_t max_bytes);

  // Starts watching `paths` (config files, existing or not yet) and returns the scans of those that exist now.
  // reader_uid: the user whose home or project holds them; each is then read only if that user may read it
  // (credfiles::ReadOptions::reader_uid). nullopt for the paths an administrator configured.
  std::vector<credfiles::FileScan> watch(const std::set<std::string>& paths, std::optional<uid_t> reader_uid);
  // Scans of watched files changed since the last call (non-blocking; none when nothing changed).
  std::vector<credfiles::FileScan> changes();
  const ConfigExposureStats& stats() const { return stats_; }

 private:
  std::optional<credfiles::FileScan> scan_if_changed(const std::string& path);
  void watch_directory(const std::string& dir);

  size_t max_bytes_;
  common::UniqueFd inotify_;
  std::map<int, std::string> directories_;        // watch descriptor → directory
  std::map<std::string, std::optional<uid_t>> files_;  // watched config path → the user it is read for
  std::map<std::string, std::string> digests_;    // path → sha256 of the content last reported
  ConfigExposureStats stats_;
};

}  // namespace credtrace::sensors
