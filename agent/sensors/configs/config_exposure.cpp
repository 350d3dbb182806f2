// MCP config exposure scanner: inotify on config directories (and on the nearest existing ancestor of absent ones),
// rescans of changed files, content-change detection.
#include "sensors/configs/config_exposure.h"

#include <openssl/evp.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/digest.h"

namespace credtrace::sensors {
namespace {

// Every directory (config directory or ancestor waited on) is watched with one mask: inotify keeps one watch per
// inode, so a second inotify_add_watch of the same directory replaces the mask rather than adding to it.
constexpr uint32_t kDirectoryEvents = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE_SELF | IN_MOVE_SELF;
constexpr int kMaxWatchAttempts = 64;  // directories created on the way while the nearest ancestor is looked for

std::string parent_dir(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos || slash == 0 ? "/" : path.substr(0, slash);
}

bool is_same_or_below(const std::string& dir, const std::string& top) {
  if (top == "/") return dir.starts_with('/');
  return dir == top || (dir.starts_with(top) && dir.size() > top.size() && dir[top.size()] == '/');
}

// What a scan found, as one digest (keys, types, references, values): a rewrite with the same credentials is not a
// change worth reporting again. The values only enter a hash that never leaves the process.
std::string findings_digest(const credfiles::FileScan& scan) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!ctx) return {};
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  auto add = [&](std::string_view part) {
    EVP_DigestUpdate(ctx, part.data(), part.size());
    EVP_DigestUpdate(ctx, "\x1f", 1);
  };
  add(credfiles::file_error_name(scan.error));
  for (const auto& f : scan.findings) {
    add(f.key), add(f.type), add(f.reference), add(f.server), add(f.value.view());
    add(std::to_string(f.line));
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_DigestFinal_ex(ctx, digest, &size);
  EVP_MD_CTX_free(ctx);
  return common::hex_encode(digest, size);
}

}  // namespace

ConfigExposureScanner::ConfigExposureScanner(size_t max_bytes)
    : max_bytes_(max_bytes), inotify_(inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {}

ConfigExposureScanner::WatchResult ConfigExposureScanner::add_watch(const std::string& dir) {
  if (watched_.count(dir)) return WatchResult::watched;
  if (!inotify_.valid()) {
    ++stats_.watch_failures;
    return WatchResult::failed;
  }
  int wd = inotify_add_watch(inotify_.get(), dir.c_str(), kDirectoryEvents | IN_ONLYDIR);
  if (wd < 0) {
    if (errno == ENOENT) return WatchResult::absent;  // not a failure: nothing is installed there (yet)
    ++stats_.watch_failures;
    return WatchResult::failed;
  }
  directories_[wd].insert(dir);
  watched_[dir] = wd;
  return WatchResult::watched;
}

bool ConfigExposureScanner::watch_config_dir(const std::string& dir) {
  config_dirs_.insert(dir);
  for (int attempt = 0; attempt < kMaxWatchAttempts; ++attempt) {
    WatchResult result = add_watch(dir);
    if (result != WatchResult::absent) {
      absent_dirs_.erase(dir);
      return result == WatchResult::watched;
    }
    absent_dirs_.insert(dir);
    if (!watch_nearest_ancestor(dir)) break;
  }
  return false;
}

bool ConfigExposureScanner::watch_nearest_ancestor(const std::string& dir) {
  std::string child = dir;
  for (std::string ancestor = parent_dir(dir);; child = ancestor, ancestor = parent_dir(ancestor)) {
    WatchResult result = add_watch(ancestor);
    if (result == WatchResult::failed) return false;  // counted: the directory's creation will not be seen
    if (result == WatchResult::watched) return ::access(child.c_str(), F_OK) == 0;  // created before the watch
    if (ancestor == "/") return false;
  }
}

std::set<std::string> ConfigExposureScanner::recheck_absent_dirs(const std::string& created) {
  std::vector<std::string> below;
  // Names starting with `created` are one sorted range ("x", "x-old/…", "x/…"): only "x" and "x/…" are below it.
  for (auto it = absent_dirs_.lower_bound(created); it != absent_dirs_.end() && it->starts_with(created); ++it)
    if (is_same_or_below(*it, created)) below.push_back(*it);
  std::set<std::string> appeared;
  for (const auto& dir : below) {
    if (!watch_config_dir(dir)) continue;
    ++stats_.dirs_appeared;
    appeared.insert(dir);
  }
  return appeared;
}

std::set<std::string> ConfigExposureScanner::rewatch_lost_dirs(const std::set<std::string>& lost) {
  std::set<std::string> back;
  for (const auto& dir : lost) {
    // A config directory deleted or moved away is absent now (or already back: deleted and created again).
    if (config_dirs_.count(dir) && watch_config_dir(dir)) back.insert(dir);
    back.merge(recheck_absent_dirs(dir));  // those waited on through it: through their nearest ancestor now
  }
  return back;
}

void ConfigExposureScanner::forget_watch(int wd) {
  auto it = directories_.find(wd);
  if (it == directories_.end()) return;
  for (const auto& dir : it->second) watched_.erase(dir);
  directories_.erase(it);
}

void ConfigExposureScanner::add_files_in(const std::string& dir, std::set<std::string>& changed) const {
  const std::string prefix = dir == "/" ? "/" : dir + "/";
  for (auto it = files_.lower_bound(prefix); it != files_.end() && it->first.starts_with(prefix); ++it)
    if (it->first.find('/', prefix.size()) == std::string::npos) changed.insert(it->first);
}

std::vector<credfiles::FileScan> ConfigExposureScanner::watch(const std::set<std::string>& paths,
                                                               std::optional<uid_t> reader_uid) {
  std::vector<credfiles::FileScan> scans;
  for (const auto& path : paths) {
    if (!files_.emplace(path, reader_uid).second) continue;
    ++stats_.files_watched;
    if (const std::string dir = parent_dir(path); !config_dirs_.count(dir)) watch_config_dir(dir);
    if (auto scan = scan_if_changed(path)) scans.push_back(std::move(*scan));
  }
  stats_.dirs_absent = absent_dirs_.size();
  return scans;
}

std::optional<credfiles::FileScan> ConfigExposureScanner::scan_if_changed(const std::string& path) {
  credfiles::ReadOptions options;
  options.max_bytes = std::max(max_bytes_, credfiles::kMinMcpConfigBytes);
  if (auto file = files_.find(path); file != files_.end()) options.reader_uid = file->second;
  credfiles::FileScan scan = credfiles::scan_mcp_config_file(path, options);
  if (scan.error == credfiles::FileError::not_found) return std::nullopt;  // not there (yet)
  ++stats_.scans;
  if (scan.error != credfiles::FileError::none) ++stats_.errors[std::string(credfiles::file_error_name(scan.error))];
  std::string digest = findings_digest(scan);
  auto [it, inserted] = digests_.try_emplace(path, digest);
  if (!inserted && it->second == digest) {
    ++stats_.unchanged;
    return std::nullopt;
  }
  it->second = std::move(digest);
  return scan;
}

// What one drain of the inotify queue asks for.
struct ConfigExposureScanner::EventBatch {
  std::set<std::string> changed;  // watched config paths written, created or moved in
  std::set<std::string> created;  // anything created or moved into a watched directory (a config directory's way)
  std::set<std::string> lost;     // watched directories deleted, moved away or unmounted
  bool overflowed = false;        // the kernel queue overflowed: events were lost
};

void ConfigExposureScanner::handle_event(const inotify_event& ev, EventBatch& batch) {
  if (ev.mask & IN_Q_OVERFLOW) {
    batch.overflowed = true;
    return;
  }
  if (ev.mask & IN_MOVE_SELF) inotify_rm_watch(inotify_.get(), ev.wd);  // its name no longer leads to it
  if (ev.mask & (IN_IGNORED | IN_MOVE_SELF)) {  // IN_IGNORED: deleted (after IN_DELETE_SELF) or unmounted
    auto dir = directories_.find(ev.wd);
    if (dir != directories_.end()) batch.lost.insert(dir->second.begin(), dir->second.end());
    forget_watch(ev.wd);
    return;
  }
  auto dir = directories_.find(ev.wd);
  if (dir == directories_.end() || ev.len == 0) return;
  for (const auto& name : dir->second) {
    std::string path = (name == "/" ? "" : name) + "/" + ev.name;
    if (files_.count(path)) batch.changed.insert(path);
    if (ev.mask & (IN_CREATE | IN_MOVED_TO)) batch.created.insert(std::move(path));
  }
}

std::vector<credfiles::FileScan> ConfigExposureScanner::changes() {
  std::vector<credfiles::FileScan> scans;
  if (!inotify_.valid()) return scans;
  EventBatch batch;
  alignas(inotify_event) char buf[16384];
  for (;;) {
    ssize_t n = ::read(inotify_.get(), buf, sizeof(buf));
    if (n <= 0) break;  // EAGAIN: drained
    for (ssize_t off = 0; off < n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
      handle_event(*ev, batch);
    }
  }
  std::set<std::string> appeared;
  for (const auto& created : batch.created) appeared.merge(recheck_absent_dirs(created));
  appeared.merge(rewatch_lost_dirs(batch.lost));
  if (batch.overflowed) {
    ++stats_.event_overflows;
    appeared.merge(recheck_absent_dirs("/"));  // creations may be among the lost events
    for (const auto& [path, reader] : files_) batch.changed.insert(path);  // rescanned; unchanged ones are not reported
  }
  for (const auto& dir : appeared) add_files_in(dir, batch.changed);
  stats_.dirs_absent = absent_dirs_.size();
  for (const auto& path : batch.changed)
    if (auto scan = scan_if_changed(path)) scans.push_back(std::move(*scan));
  return scans;
}

}  // namespace credtrace::sensors
