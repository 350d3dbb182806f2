// RAII owner of a read-only whole-file mmap, and read-only opening (internal to credtrace_tls).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "common/unique_fd.h"

namespace credtrace::tls {

using common::UniqueFd;

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
