// Whole-file reads and atomic replacement for the commands that edit files (wrap, preload host-wide).
#include "atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace credtrace::cli {
namespace {

// An open file descriptor, closed when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

bool write_all(int fd, const std::string& content) {
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// Writes, sets owner (when it differs) and mode, syncs and closes `fd`; false with `error`.
bool finish_file(Fd& fd, const std::string& content, mode_t mode, uid_t uid, gid_t gid, std::string& error) {
  struct stat st {};
  bool ok = write_all(fd.get(), content) && ::fstat(fd.get(), &st) == 0;
  if (ok && (st.st_uid != uid || st.st_gid != gid)) ok = ::fchown(fd.get(), uid, gid) == 0;
  ok = ok && ::fchmod(fd.get(), mode & 07777) == 0 && ::fsync(fd.get()) == 0;
  if (!ok) error = std::strerror(errno);
  ok = ::close(fd.release()) == 0 && ok;
  if (!ok && error.empty()) error = std::strerror(errno);
  return ok;
}

long long mtime_ns(const struct stat& st) {
  return static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
}

}  // namespace

std::optional<FileState> read_file_state(const std::string& path, std::string& error) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  struct stat st {};
  if (fd.get() < 0 || ::fstat(fd.get(), &st) != 0) {
    error = std::strerror(errno);
    return std::nullopt;
  }
  if (!S_ISREG(st.st_mode)) {
    error = "not a regular file";
    return std::nullopt;
  }
  FileState state;
  state.mode = st.st_mode & 07777;
  state.uid = st.st_uid;
  state.gid = st.st_gid;
  state.inode = st.st_ino;
  state.device = st.st_dev;
  state.size = st.st_size;
  state.mtime_ns = mtime_ns(st);
  std::vector<char> buffer(65536);
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = std::strerror(errno);
      return std::nullopt;
    }
    if (n == 0) break;
    state.content.append(buffer.data(), static_cast<std::size_t>(n));
  }
  return state;
}

bool unchanged_since(const std::string& path, const FileState& before) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && st.st_ino == before.inode && st.st_dev == before.device &&
         st.st_size == before.size && mtime_ns(st) == before.mtime_ns;
}

bool replace_file(const std::string& path, const std::string& content, mode_t mode, uid_t uid, gid_t gid,
                  std::string& error) {
  std::string temp = path + ".credtrace-tmp-XXXXXX";
  Fd fd(::mkstemp(temp.data()));
  if (fd.get() < 0) {
    error = "cannot create a temporary file beside it: " + std::string(std::strerror(errno));
    return false;
  }
  if (!finish_file(fd, content, mode, uid, gid, error) || ::rename(temp.c_str(), path.c_str()) != 0) {
    if (error.empty()) error = std::strerror(errno);
    ::unlink(temp.c_str());
    return false;
  }
  return true;
}

bool create_exclusive(const std::string& path, const std::string& content, mode_t mode, uid_t uid, gid_t gid,
                      std::string& error) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.get() < 0) {
    error = std::strerror(errno);
    return false;
  }
  if (!finish_file(fd, content, mode, uid, gid, error)) {
    ::unlink(path.c_str());
    return false;
  }
  return true;
}

}  // namespace credtrace::cli
