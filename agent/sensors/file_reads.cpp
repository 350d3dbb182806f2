// Secret-file sensor: path resolution of watched processes' opens, pattern match, once-per-version reading.
#include "sensors/file_reads.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

namespace credtrace::sensors {
namespace {

constexpr size_t kMaxReported = 65536;  // versions remembered; beyond it the set starts over (files are re-reported)

std::string read_link(const std::string& path) {
  char buf[4096];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

std::string join(const std::string& dir, const std::string& relative) {
  if (dir.empty()) return "";
  return dir.back() == '/' ? dir + relative : dir + "/" + relative;
}

}  // namespace

FileReadSensor::FileReadSensor(std::vector<credfiles::PathPattern> patterns, std::string proc_root, size_t max_bytes)
    : patterns_(std::move(patterns)), proc_root_(std::move(proc_root)), max_bytes_(max_bytes) {}

std::string FileReadSensor::absolute_path(const ct_file_open_event& e) const {
  std::string path(e.path, strnlen(e.path, std::min<size_t>(e.path_len, sizeof(e.path))));
  if (path.empty() || path[0] == '/') return path;
  const std::string process = proc_root_ + "/" + std::to_string(e.hdr.tgid);
  const int32_t dirfd = static_cast<int32_t>(e.dirfd);
  // The directory as the process sees it (inside its root): its cwd, or the directory fd it passed.
  const std::string dir = dirfd == AT_FDCWD ? read_link(process + "/cwd")
                                            : read_link(process + "/fd/" + std::to_string(dirfd));
  return dir.empty() || dir[0] != '/' ? std::string() : join(dir, path);
}

std::optional<FileReadSensor::Version> FileReadSensor::version_of(const std::string& workload_id, uint32_t pid,
                                                                  const std::string& path) const {
  credfiles::ReadOptions inside;  // resolved as the read will be: within the process's root
  inside.root = proc_root_ + "/" + std::to_string(pid) + "/root";
  std::optional<struct stat> st = credfiles::stat_credential_file(path, inside);
  if (!st) return std::nullopt;
  return Version{workload_id, path, static_cast<int64_t>(st->st_size),
                 static_cast<int64_t>(st->st_mtim.tv_sec) * 1000000000 + st->st_mtim.tv_nsec};
}

std::optional<credfiles::FileScan> FileReadSensor::on_open(const ct_file_open_event& e, const std::string& workload_id) {
  ++stats_.opens;
  if (e.hdr.flags & CT_FLAG_TRUNCATED) return std::nullopt;  // a path over 255 bytes: not a credential file we know
  const std::string path = absolute_path(e);
  if (path.empty()) {
    if (e.path[0] && e.path[0] != '/') ++stats_.unresolved;
    return std::nullopt;
  }
  auto match = credfiles::match_credential_path(path, patterns_);
  if (!match) return std::nullopt;
  ++stats_.matched;
  auto version = version_of(workload_id, e.hdr.tgid, path);
  if (!version) {
    ++stats_.not_found;  // opened to probe for it (or already gone): nothing was read
    return std::nullopt;
  }
  if (reported_.size() >= kMaxReported) reported_.clear();
  if (!reported_.insert(*version).second) {
    ++stats_.repeats;
    return std::nullopt;
  }
  credfiles::ReadOptions options;
  options.max_bytes = max_bytes_;
  options.root = proc_root_ + "/" + std::to_string(e.hdr.tgid) + "/root";
  credfiles::FileScan scan = credfiles::scan_credential_file(path, *match, options);
  ++stats_.scanned;
  if (scan.error != credfiles::FileError::none) ++stats_.errors[std::string(credfiles::file_error_name(scan.error))];
  return scan;
}

}  // namespace credtrace::sensors
