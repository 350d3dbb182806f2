// Streams a file through EVP SHA-256 once per (dev, inode, size, mtime) and caches the hex digest.
#include "identity/exe_hash.h"

#include "common/digest.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <array>
#include <cerrno>
#include <functional>
#include <memory>

#include "common/unique_fd.h"

namespace credtrace::identity {

using common::UniqueFd;
namespace {

constexpr size_t kReadChunk = 256 * 1024;

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

// Hashes everything readable from fd; nullopt on read error or more than max_bytes.
std::optional<std::string> hash_fd(int fd, uint64_t max_bytes) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) return std::nullopt;
  std::unique_ptr<unsigned char[]> buf(new unsigned char[kReadChunk]);
  uint64_t total = 0;
  while (true) {
    ssize_t n = ::read(fd, buf.get(), kReadChunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    if (n == 0) break;
    total += static_cast<uint64_t>(n);
    if (total > max_bytes) return std::nullopt;
    if (EVP_DigestUpdate(ctx.get(), buf.get(), static_cast<size_t>(n)) != 1) return std::nullopt;
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int md_len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), md.data(), &md_len) != 1) return std::nullopt;
  return common::hex_encode(md.data(), md_len);
}

}  // namespace

size_t ExeHasher::FileKeyHash::operator()(const FileKey& k) const {
  size_t h = std::hash<uint64_t>{}(k.ino);
  auto mix = [&h](uint64_t v) { h ^= std::hash<uint64_t>{}(v) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2); };
  mix(k.dev);
  mix(k.size);
  mix(static_cast<uint64_t>(k.mtime_sec));
  mix(static_cast<uint64_t>(k.mtime_nsec));
  return h;
}

std::optional<std::string> ExeHasher::cached(const FileKey& key) {
  std::lock_guard lock(mu_);
  auto it = cache_.find(key);
  if (it == cache_.end()) return std::nullopt;
  return it->second;
}

void ExeHasher::remember(const FileKey& key, const std::string& digest) {
  std::lock_guard lock(mu_);
  if (cache_.size() >= kMaxCacheEntries) cache_.clear();
  cache_.insert_or_assign(key, digest);
}

std::optional<std::string> ExeHasher::sha256_of(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd) return std::nullopt;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  if (static_cast<uint64_t>(st.st_size) > max_bytes_) return std::nullopt;
  FileKey key{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
              static_cast<uint64_t>(st.st_size), static_cast<int64_t>(st.st_mtim.tv_sec),
              static_cast<int64_t>(st.st_mtim.tv_nsec)};
  if (auto hit = cached(key)) return hit;
  hashes_computed_.fetch_add(1, std::memory_order_relaxed);
  auto digest = hash_fd(fd.get(), max_bytes_);
  if (!digest) return std::nullopt;
  struct stat after {};
  bool unchanged = ::fstat(fd.get(), &after) == 0 && after.st_size == st.st_size &&
                   after.st_mtim.tv_sec == st.st_mtim.tv_sec && after.st_mtim.tv_nsec == st.st_mtim.tv_nsec;
  if (unchanged) remember(key, *digest);  // a file modified while hashing is not cached
  return digest;
}

}  // namespace credtrace::identity
