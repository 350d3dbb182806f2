// MCP config exposure scanner: inotify on config directories, rescans of changed files, content-change detection.
#include "sensors/config_exposure.h"

#include <openssl/evp.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/digest.h"

namespace credtrace::sensors {
namespace {

std::string parent_dir(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos || slash == 0 ? "/" : path.substr(0, slash);
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

void ConfigExposureScanner::watch_directory(const std::string& dir) {
  if (!inotify_.valid()) {
    ++stats_.watch_failures;
    return;
  }
  for (const auto& [wd, known] : directories_)
    if (known == dir) return;
  const uint32_t mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE_SELF | IN_MOVE_SELF;
  int wd = inotify_add_watch(inotify_.get(), dir.c_str(), mask | IN_ONLYDIR);
  if (wd < 0) {
    ++stats_.watch_failures;  // the directory does not exist (yet): the file is picked up at the next start
    return;
  }
  directories_[wd] = dir;
}

std::vector<credfiles::FileScan> ConfigExposureScanner::watch(const std::set<std::string>& paths,
                                                               std::optional<uid_t> reader_uid) {
  std::vector<credfiles::FileScan> scans;
  for (const auto& path : paths) {
    if (!files_.emplace(path, reader_uid).second) continue;
    ++stats_.files_watched;
    watch_directory(parent_dir(path));
    if (auto scan = scan_if_changed(path)) scans.push_back(std::move(*scan));
  }
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

std::vector<credfiles::FileScan> ConfigExposureScanner::changes() {
  std::vector<credfiles::FileScan> scans;
  if (!inotify_.valid()) return scans;
  std::set<std::string> changed;
  alignas(inotify_event) char buf[16384];
  for (;;) {
    ssize_t n = ::read(inotify_.get(), buf, sizeof(buf));
    if (n <= 0) break;  // EAGAIN: drained
    for (ssize_t off = 0; off < n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
      auto dir = directories_.find(ev->wd);
      if (dir == directories_.end() || ev->len == 0) continue;
      std::string path = (dir->second == "/" ? "" : dir->second) + "/" + ev->name;
      if (files_.count(path)) changed.insert(path);
    }
  }
  for (const auto& path : changed)
    if (auto scan = scan_if_changed(path)) scans.push_back(std::move(*scan));
  return scans;
}

}  // namespace credtrace::sensors
