// RAII owners for a file descriptor and a read-only whole-file mmap (internal to credtrace_tls).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace credtrace::tls {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd();
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release();

 private:
  int fd_ = -1;
};

// Opens `path` read-only (O_CLOEXEC); an invalid UniqueFd with *error set on failure.
UniqueFd open_read_only(const std::string& path, std::string* error);

class MappedFile {
 public:
  // Maps the whole regular file read-only; nullopt with *error set on failure (empty files fail too).
  static std::optional<MappedFile> map(const std::string& path, std::string* error);
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const uint8_t> bytes() const { return {static_cast<const uint8_t*>(addr_), size_}; }

 private:
  MappedFile(void* addr, size_t size) : addr_(addr), size_(size) {}
  void reset();
  void* addr_ = nullptr;
  size_t size_ = 0;
};

}  // namespace credtrace::tls
