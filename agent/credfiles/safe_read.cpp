// Safe credential-file reading: O_PATH open (optionally inside a root with openat2), regular files only, capped.
#include "credfiles/safe_read.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "credfiles/value_rules.h"

namespace credtrace::credfiles {
namespace {

using common::UniqueFd;

struct Opened {
  UniqueFd fd;
  int error = 0;  // errno when fd is invalid
};

std::string message_for_errno(int err) {
  if (err == ELOOP) return "too many levels of symbolic links (ELOOP), or a symlink out of the root";
  return std::string(std::strerror(err));
}

ReadResult failure(FileError error, std::string message) {
  ReadResult result;
  result.error = error;
  result.message = std::move(message);
  return result;
}

ReadResult errno_failure(int err) { return failure(file_error_for_errno(err), message_for_errno(err)); }

long openat2_syscall(int dirfd, const char* path, const open_how& how) {
  return ::syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

// Opens `path` (inside options.root when set) with `flags`; symlinks are followed.
Opened open_with(const std::string& path, const ReadOptions& options, int flags) {
  Opened out;
  if (options.root.empty()) {
    out.fd.reset(::open(path.c_str(), flags | O_CLOEXEC));
    if (!out.fd) out.error = errno;
    return out;
  }
  UniqueFd root(::open(options.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) {
    out.error = errno;
    return out;
  }
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  long fd = openat2_syscall(root.get(), path.c_str(), how);
  if (fd < 0) {
    out.error = errno;
  } else {
    out.fd.reset(static_cast<int>(fd));
  }
  return out;
}

constexpr int kReadFlags = O_RDONLY | O_NOCTTY | O_NONBLOCK;

// O_PATH opens nothing for I/O: no FIFO blocking, no device side effects.
Opened open_path(const std::string& path, const ReadOptions& options) { return open_with(path, options, O_PATH); }

// Reopens an O_PATH descriptor for reading through /proc/self/fd (the same inode, no second lookup); without
// /proc, the path is opened again (the caller checks it is still the same inode).
Opened reopen_for_reading(const UniqueFd& path_fd, const std::string& path, const ReadOptions& options) {
  Opened out;
  std::string self = "/proc/self/fd/" + std::to_string(path_fd.get());
  out.fd.reset(::open(self.c_str(), kReadFlags | O_CLOEXEC));
  if (out.fd) return out;
  out.error = errno;
  if (out.error == ENOENT && ::access("/proc/self/fd", F_OK) != 0) return open_with(path, options, kReadFlags);
  return out;
}

bool same_file(const struct stat& a, const struct stat& b) { return a.st_dev == b.st_dev && a.st_ino == b.st_ino; }

// Reads at most max_bytes + 1 bytes (one more than allowed reveals a file that grew past the cap).
bool read_capped(int fd, size_t max_bytes, std::string& out, int& err) {
  out.assign(max_bytes + 1 > (64u << 10) ? (64u << 10) : max_bytes + 1, '\0');
  size_t used = 0;
  while (used <= max_bytes) {
    if (used == out.size()) out.resize(std::min(out.size() * 2, max_bytes + 1));
    ssize_t n = ::read(fd, out.data() + used, out.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      err = errno;
      return false;
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  out.resize(used);
  return true;
}

ReadResult read_regular(const UniqueFd& path_fd, const struct stat& st, const std::string& path,
                        const ReadOptions& options) {
  const size_t max_bytes = options.max_bytes;
  Opened reading = reopen_for_reading(path_fd, path, options);
  if (!reading.fd) return errno_failure(reading.error);
  struct stat again {};
  if (::fstat(reading.fd.get(), &again) != 0 || !same_file(st, again) || !S_ISREG(again.st_mode)) {
    return failure(FileError::io_error, "file changed while it was opened");
  }
  std::string content;
  int err = 0;
  if (!read_capped(reading.fd.get(), max_bytes, content, err)) {
    detail::wipe(content);
    return errno_failure(err);
  }
  if (content.size() > max_bytes) {
    detail::wipe(content);
    return failure(FileError::too_large, "file larger than " + std::to_string(max_bytes) + " bytes");
  }
  if (content.find('\0') != std::string::npos) {
    detail::wipe(content);
    return failure(FileError::binary_content, "binary content (NUL byte): not a text credential file");
  }
  ReadResult result;
  result.content = secrets::SecretBytes(content);
  detail::wipe(content);
  return result;
}

// Whether uid's groups (primary and supplementary, from the user database) include gid.
bool user_in_group(uid_t uid, gid_t gid) {
  struct passwd entry {};
  struct passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (::getpwuid_r(uid, &entry, buf.data(), buf.size(), &found) != 0 || found == nullptr) return false;
  if (entry.pw_gid == gid) return true;
  int count = 64;
  std::vector<gid_t> groups(static_cast<size_t>(count));
  if (::getgrouplist(entry.pw_name, entry.pw_gid, groups.data(), &count) < 0) {
    groups.resize(static_cast<size_t>(count));
    if (::getgrouplist(entry.pw_name, entry.pw_gid, groups.data(), &count) < 0) return false;
  }
  groups.resize(static_cast<size_t>(count));
  return std::find(groups.begin(), groups.end(), gid) != groups.end();
}

// Read permission by mode bits alone, as the kernel checks them for an unprivileged uid (root may read anything).
bool readable_by(const struct stat& st, uid_t uid) {
  if (uid == 0 || (st.st_mode & S_IROTH)) return true;
  if (st.st_uid == uid) return (st.st_mode & S_IRUSR) != 0;
  return (st.st_mode & S_IRGRP) && user_in_group(uid, st.st_gid);
}

}  // namespace

FileError file_error_for_errno(int err) {
  switch (err) {
    case ENOENT: case ENOTDIR: return FileError::not_found;
    case EACCES: case EPERM: return FileError::permission_denied;
    case ELOOP: return FileError::symlink_loop;
    default: return FileError::io_error;
  }
}

std::string_view file_error_name(FileError error) {
  switch (error) {
    case FileError::none: return "";
    case FileError::not_found: return "not_found";
    case FileError::permission_denied: return "permission_denied";
    case FileError::not_regular_file: return "not_regular_file";
    case FileError::too_large: return "too_large";
    case FileError::binary_content: return "binary_content";
    case FileError::symlink_loop: return "symlink_loop";
    case FileError::io_error: return "io_error";
    case FileError::parse_error: return "parse_error";
  }
  return "io_error";
}

std::optional<struct stat> stat_credential_file(const std::string& path, const ReadOptions& options) {
  if (path.empty()) return std::nullopt;
  Opened opened = open_path(path, options);
  struct stat st {};
  if (!opened.fd || ::fstat(opened.fd.get(), &st) != 0) return std::nullopt;
  return st;
}

ReadResult read_credential_file(const std::string& path, const ReadOptions& options) {
  if (path.empty()) return failure(FileError::not_found, "empty path");
  Opened opened = open_path(path, options);
  if (!opened.fd) return errno_failure(opened.error);
  struct stat st {};
  if (::fstat(opened.fd.get(), &st) != 0) return errno_failure(errno);
  if (!S_ISREG(st.st_mode)) {
    return failure(FileError::not_regular_file, S_ISDIR(st.st_mode) ? "a directory, not a regular file"
                                                                     : "not a regular file (FIFO, socket or device)");
  }
  if (options.reader_uid && !readable_by(st, *options.reader_uid)) {
    return failure(FileError::permission_denied,
                   "not readable by uid " + std::to_string(*options.reader_uid) + ", whose file this is: not read");
  }
  if (static_cast<unsigned long long>(st.st_size) > options.max_bytes) {
    return failure(FileError::too_large, "file larger than " + std::to_string(options.max_bytes) + " bytes");
  }
  return read_regular(opened.fd, st, path, options);
}

}  // namespace credtrace::credfiles
