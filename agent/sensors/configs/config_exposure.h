// MCP config exposure scanner: every MCP client config on the host is scanned for hard-coded credentials at start
// and again whenever it changes (inotify on its directory, so editors' write-and-rename saves are seen; a directory
// that does not exist yet is waited for through its nearest existing ancestor).
#pragma once

#include <sys/inotify.h>
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
  uint64_t dirs_absent = 0;    // now: config directories that do not exist (not a failure: the client is not
                               // installed); each is waited for through its nearest existing ancestor
  uint64_t dirs_appeared = 0;  // config directories that were absent and then created: their configs are scanned
  uint64_t watch_failures = 0; // inotify could not watch a directory (EACCES, ENOSPC: the inotify watch limit,
                               // ENOTDIR, ELOOP, …): an existing config there is scanned at start, its changes
                               // are missed; a config directory created under it is not seen
  uint64_t event_overflows = 0; // the inotify queue overflowed (events lost): every watched config was rescanned
  std::map<std::string, uint64_t> errors;  // read/parse failures by file_error_name
};

class ConfigExposureScanner {
 public:
  explicit ConfigExposureScanner(size_t max_bytes);
  // A reload: configs read from now on are capped by this (never below credfiles::kMinMcpConfigBytes).
  void set_max_bytes(size_t max_bytes) { max_bytes_ = max_bytes; }

  // Starts watching `paths` (config files, existing or not yet) and returns the scans of those that exist now.
  // reader_uid: the user whose home or project holds them; each is then read only if that user may read it
  // (credfiles::ReadOptions::reader_uid). nullopt for the paths an administrator configured.
  std::vector<credfiles::FileScan> watch(const std::set<std::string>& paths, std::optional<uid_t> reader_uid);
  // Scans of watched files changed (or created, also in a directory created meanwhile) since the last call
  // (non-blocking; none when nothing changed).
  std::vector<credfiles::FileScan> changes();
  const ConfigExposureStats& stats() const { return stats_; }

 private:
  enum class WatchResult { watched, absent, failed };
  struct EventBatch;
  std::optional<credfiles::FileScan> scan_if_changed(const std::string& path);
  WatchResult add_watch(const std::string& dir);
  // Watches a config directory or, while it does not exist, its nearest existing ancestor; true when the
  // directory itself is now watched.
  bool watch_config_dir(const std::string& dir);
  // For an absent `dir`: watches its nearest existing ancestor; true when the next directory on the way to `dir`
  // was created before that watch began (its event is lost: look again).
  bool watch_nearest_ancestor(const std::string& dir);
  // Absent config directories at or below `created` that are watched now.
  std::set<std::string> recheck_absent_dirs(const std::string& created);
  // After watched directories were deleted or moved away: watches the config directories among them again (or
  // their nearest ancestors) and re-anchors the absent ones waited on through them; returns those watched again.
  std::set<std::string> rewatch_lost_dirs(const std::set<std::string>& lost);
  void forget_watch(int wd);
  void handle_event(const inotify_event& ev, EventBatch& batch);
  // Adds the watched config paths directly in `dir` to `changed`.
  void add_files_in(const std::string& dir, std::set<std::string>& changed) const;

  size_t max_bytes_;
  common::UniqueFd inotify_;
  std::map<int, std::set<std::string>> directories_;   // watch descriptor → directories (one inode, several names)
  std::map<std::string, int> watched_;                 // directory → watch descriptor
  std::set<std::string> config_dirs_;                  // directories holding watched config paths
  std::set<std::string> absent_dirs_;                  // config directories that do not exist now
  std::map<std::string, std::optional<uid_t>> files_;  // watched config path → the user it is read for
  std::map<std::string, std::string> digests_;         // path → sha256 of the content last reported
  ConfigExposureStats stats_;
};

}  // namespace credtrace::sensors
