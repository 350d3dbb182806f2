// Public API of safe credential-file reading: size cap, regular files only, no binary, optional confining root.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "secrets/fingerprint.h"

namespace credtrace::credfiles {

// Why a file could not be scanned. Names (file_error_name) are stable: the agent counts them in agent_health.
enum class FileError {
  none,
  not_found,          // ENOENT/ENOTDIR
  permission_denied,  // EACCES/EPERM
  not_regular_file,   // a directory, FIFO, socket or device: never opened for reading
  too_large,          // above ReadOptions::max_bytes
  binary_content,     // a NUL byte: not a text credential file
  symlink_loop,       // ELOOP (also a symlink refused by RESOLVE_NO_MAGICLINKS)
  io_error,           // any other open/read failure
  parse_error,        // read, but (part of) the content was malformed
};

// "not_found", "permission_denied", "not_regular_file", "too_large", "binary_content", "symlink_loop", "io_error",
// "parse_error"; "" for none.
std::string_view file_error_name(FileError error);

// ENOENT/ENOTDIR → not_found, EACCES/EPERM → permission_denied, ELOOP → symlink_loop, others → io_error.
FileError file_error_for_errno(int err);

inline constexpr size_t kDefaultMaxFileBytes = 1 << 20;

struct ReadOptions {
  size_t max_bytes = kDefaultMaxFileBytes;
  // When set, `path` is resolved inside this directory, as if it were "/": openat2(RESOLVE_IN_ROOT |
  // RESOLVE_NO_MAGICLINKS), so absolute symlinks and ".." stay inside it. The agent passes "/proc/PID/root"
  // for a file a watched process opened (the path must then be absolute, or relative to that root).
  std::string root;
  // When set, the file is read only if this user may read it by its mode bits (owner, group membership, other):
  // the agent reads as root, and a config in a user's home or project must not let that user point it (by a
  // symlink) at a file only root or another user may read. Refused as permission_denied.
  std::optional<uid_t> reader_uid;
};

struct ReadResult {
  secrets::SecretBytes content;  // wiped when the result is destroyed
  FileError error = FileError::none;
  std::string message;  // "" when ok; else what went wrong (never the content), e.g. "file larger than 1048576 bytes"
  bool ok() const { return error == FileError::none; }
};

// Opens without side effects (O_PATH, then fstat: only regular files are reopened for reading), reads at most
// max_bytes (a larger file is an error, also one that grew meanwhile), refuses content with a NUL byte.
// Follows symlinks (inside `root` when set). Never throws.
ReadResult read_credential_file(const std::string& path, const ReadOptions& options);

// The metadata of what read_credential_file would open (the same resolution, inside options.root when set; no
// read, no side effect); nullopt when it cannot be opened.
std::optional<struct stat> stat_credential_file(const std::string& path, const ReadOptions& options);

}  // namespace credtrace::credfiles
