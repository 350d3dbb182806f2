// Secret-file sensor: path resolution of watched processes' opens, pattern match, once-per-version reading in the
// process's pinned root.
#include "sensors/files/file_reads.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <cstring>
#include <vector>

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

int64_t timespec_ns(const struct timespec& ts) { return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec; }

int64_t clock_ns(clockid_t clock) {
  struct timespec ts{};
  clock_gettime(clock, &ts);
  return timespec_ns(ts);
}

// A boot-clock time (kernel event) on the realtime clock, as file times are.
int64_t boot_to_realtime_ns(uint64_t boot_ns) {
  return static_cast<int64_t>(boot_ns) + (clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_BOOTTIME));
}

RootKey root_key_of(const ct_file_open_event& e) { return {e.mnt_ns, e.root_mnt_id, e.root_ino}; }

}  // namespace

std::string walked_directory(const ct_file_open_event& e) {
  if (!(e.dir_flags & CT_DIR_WALKED)) return "";
  const size_t len = std::min<size_t>(e.dir_names_len, sizeof(e.dir_names));
  std::vector<std::string_view> names;
  for (size_t at = 0; at < len && names.size() < e.dir_depth;) {
    const size_t n = strnlen(e.dir_names + at, len - at);
    names.emplace_back(e.dir_names + at, n);
    at += n + 1;
  }
  if (names.size() != e.dir_depth) return "";
  std::string dir;
  for (auto it = names.rbegin(); it != names.rend(); ++it) {
    if (it->empty() || it->find('/') != std::string_view::npos) return "";  // not a directory entry's name
    dir.append("/").append(*it);
  }
  return dir.empty() ? "/" : dir;
}

FileReadSensor::FileReadSensor(std::vector<credfiles::PathPattern> patterns, std::string proc_root, size_t max_bytes)
    : patterns_(std::move(patterns)), proc_root_(proc_root), max_bytes_(max_bytes), roots_(std::move(proc_root)) {}

std::string FileReadSensor::absolute_path(const ct_file_open_event& e) const {
  std::string path(e.path, strnlen(e.path, std::min<size_t>(e.path_len, sizeof(e.path))));
  if (path.empty() || path[0] == '/') return path;
  if (std::string walked = walked_directory(e); !walked.empty()) return join(walked, path);
  const std::string process = proc_root_ + "/" + std::to_string(e.hdr.tgid);
  const int32_t dirfd = static_cast<int32_t>(e.dirfd);
  // The directory as the process sees it (inside its root): its cwd, or the directory fd it passed.
  const std::string dir = dirfd == AT_FDCWD ? read_link(process + "/cwd")
                                            : read_link(process + "/fd/" + std::to_string(dirfd));
  return dir.empty() || dir[0] != '/' ? std::string() : join(dir, path);
}

std::optional<struct stat> FileReadSensor::stat_in(const std::string& root, const std::string& path) const {
  credfiles::ReadOptions inside;  // resolved as the read will be: within the process's root
  inside.root = root;
  return credfiles::stat_credential_file(path, inside);
}

std::optional<FileRead> FileReadSensor::on_open(const ct_file_open_event& e, const std::string& workload_id) {
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
  const RootAccess root = roots_.access(root_key_of(e), e.hdr.tgid);
  if (root.via == RootAccess::Via::unavailable) {
    ++stats_.root_unavailable;  // not "absent": the file may well exist, but no longer in a root we can reach
    return std::nullopt;
  }
  std::optional<struct stat> st = stat_in(root.path, path);
  if (!st) {
    ++stats_.not_found;  // opened to probe for it (or already gone): nothing was read
    return std::nullopt;
  }
  Version version{workload_id, path, static_cast<int64_t>(st->st_size), timespec_ns(st->st_mtim)};
  if (reported_.size() >= kMaxReported) reported_.clear();
  if (!reported_.insert(version).second) {
    ++stats_.repeats;
    return std::nullopt;
  }
  credfiles::ReadOptions options;
  options.max_bytes = max_bytes_;
  options.root = root.path;
  FileRead read;
  read.scan = credfiles::scan_credential_file(path, *match, options);
  const int64_t opened_ns = boot_to_realtime_ns(e.hdr.time_boot_ns);
  read.read_delay_ms = static_cast<uint64_t>(std::max<int64_t>(0, clock_ns(CLOCK_REALTIME) - opened_ns) / 1000000);
  read.modified_after_open = std::max(timespec_ns(st->st_mtim), timespec_ns(st->st_ctim)) > opened_ns;
  if (root.via == RootAccess::Via::pinned && ::access((proc_root_ + "/" + std::to_string(e.hdr.tgid)).c_str(), F_OK) != 0)
    ++stats_.read_after_exit;
  ++stats_.scanned;
  if (read.scan.error != credfiles::FileError::none) ++stats_.errors[std::string(credfiles::file_error_name(read.scan.error))];
  return read;
}

}  // namespace credtrace::sensors
