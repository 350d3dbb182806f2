// Whole-file reads and atomic replacement (temp file in the same directory + rename) keeping mode and owner.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace credtrace::cli {

struct FileState {
  std::string content;
  mode_t mode = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  ino_t inode = 0;
  dev_t device = 0;
  off_t size = 0;
  long long mtime_ns = 0;
};

// Reads a regular file; nullopt with `error` set ("No such file or directory", "not a regular file", ...).
std::optional<FileState> read_file_state(const std::string& path, std::string& error);

// True when `path` still has the inode, size and mtime of `before` (nobody rewrote it meanwhile).
bool unchanged_since(const std::string& path, const FileState& before);

// Replaces `path` with `content`: a temp file beside it, mode/uid/gid set, fsync, rename. False with `error`.
bool replace_file(const std::string& path, const std::string& content, mode_t mode, uid_t uid, gid_t gid,
                  std::string& error);

// Creates `path` with `content` and mode/owner only when it does not exist yet; false with `error` (EEXIST included).
bool create_exclusive(const std::string& path, const std::string& content, mode_t mode, uid_t uid, gid_t gid,
                      std::string& error);

}  // namespace credtrace::cli
