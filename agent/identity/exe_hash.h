// SHA-256 of executables, streamed with OpenSSL and cached by file identity (dev, inode, size, mtime).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace credtrace::identity {

class ExeHasher {
 public:
  static constexpr uint64_t kDefaultMaxBytes = 512ULL * 1024 * 1024;
  static constexpr size_t kMaxCacheEntries = 8192;

  explicit ExeHasher(uint64_t max_bytes = kDefaultMaxBytes) : max_bytes_(max_bytes) {}

  // Lowercase hex sha256 of a regular file; nullopt when it cannot be opened/read, is not a
  // regular file, or is larger than max_bytes. Thread-safe.
  std::optional<std::string> sha256_of(const std::string& path);

  // How many files were actually read and hashed (cache misses); for health metrics and tests.
  uint64_t hashes_computed() const { return hashes_computed_.load(std::memory_order_relaxed); }

 private:
  struct FileKey {
    uint64_t dev = 0, ino = 0, size = 0;
    int64_t mtime_sec = 0, mtime_nsec = 0;
    bool operator==(const FileKey&) const = default;
  };
  struct FileKeyHash {
    size_t operator()(const FileKey& k) const;
  };

  std::optional<std::string> cached(const FileKey& key);
  void remember(const FileKey& key, const std::string& digest);

  const uint64_t max_bytes_;
  std::atomic<uint64_t> hashes_computed_{0};
  std::mutex mu_;
  std::unordered_map<FileKey, std::string, FileKeyHash> cache_;
};

}  // namespace credtrace::identity
