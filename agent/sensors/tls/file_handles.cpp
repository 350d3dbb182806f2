// Read-only opening and the RAII owner of a read-only whole-file mmap.
#include "sensors/tls/file_handles.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace credtrace::tls {

UniqueFd open_read_only(const std::string& path, std::string* error) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid() && error) *error = "cannot open " + path + ": " + std::strerror(errno);
  return fd;
}

std::optional<MappedFile> MappedFile::map(const std::string& path, std::string* error) {
  UniqueFd fd = open_read_only(path, error);
  if (!fd.valid()) return std::nullopt;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) {
    if (error) *error = path + " is not a non-empty regular file";
    return std::nullopt;
  }
  const auto size = static_cast<size_t>(st.st_size);
  void* addr = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (addr == MAP_FAILED) {
    if (error) *error = "cannot mmap " + path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  return MappedFile(addr, size);
}

MappedFile::~MappedFile() { reset(); }

MappedFile::MappedFile(MappedFile&& other) noexcept
    : addr_(std::exchange(other.addr_, nullptr)), size_(std::exchange(other.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    reset();
    addr_ = std::exchange(other.addr_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void MappedFile::reset() {
  if (addr_) ::munmap(addr_, size_);
  addr_ = nullptr;
  size_ = 0;
}

}  // namespace credtrace::tls
