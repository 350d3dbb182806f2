// Collector spool: bounded directory of fsync'd batch files named by sequence, plus the persisted sequence counter.
#include "export/spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace credtrace::exporter {
namespace {

constexpr char kMagic[8] = {'C', 'T', 'S', 'P', 'O', 'O', 'L', '1'};
constexpr const char* kSequenceFile = "sequence";
constexpr const char* kTempPrefix = ".tmp-";
constexpr const char* kBatchSuffix = ".batch";
constexpr size_t kSequenceDigits = 20;

uint32_t crc_of(std::string_view body) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths: feed large bodies in pieces.
  while (!body.empty()) {
    uInt n = static_cast<uInt>(std::min<size_t>(body.size(), 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(body.data()), n);
    body.remove_prefix(n);
  }
  return static_cast<uint32_t>(crc);
}

void put_le32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t get_le32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

// Writes `data` to dir/name through a temporary file: fsync, rename, fsync of the directory. errno on failure.
bool write_durably(const std::string& dir, const std::string& name, std::string_view data, int* error_number) {
  const std::string tmp = dir + "/" + kTempPrefix + name;
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  bool ok = fd >= 0 && write_all(fd, data) && ::fsync(fd) == 0;
  int saved = errno;
  if (fd >= 0) ::close(fd);
  if (ok && ::rename(tmp.c_str(), (dir + "/" + name).c_str()) != 0) ok = false, saved = errno;
  if (!ok) {
    ::unlink(tmp.c_str());
    if (error_number) *error_number = saved;
    return false;
  }
  fsync_dir(dir);
  return true;
}

std::optional<uint64_t> parse_sequence(std::string_view digits) {
  if (digits.empty() || digits.size() > kSequenceDigits) return std::nullopt;
  uint64_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t next = v * 10 + static_cast<uint64_t>(c - '0');
    if (next / 10 != v) return std::nullopt;  // overflow
    v = next;
  }
  return v;
}

// "00000000000000000042.batch" → 42.
std::optional<uint64_t> batch_sequence(const std::string& name) {
  const size_t suffix = std::strlen(kBatchSuffix);
  if (name.size() != kSequenceDigits + suffix || name.compare(kSequenceDigits, suffix, kBatchSuffix) != 0)
    return std::nullopt;
  return parse_sequence(std::string_view(name).substr(0, kSequenceDigits));
}

bool make_private_dir(const std::string& dir, std::string* error) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    if (error) *error = "collector spool " + dir + " is not a directory" + (ec ? ": " + ec.message() : "");
    return false;
  }
  if ((st.st_mode & 07777) != 0700 && ::chmod(dir.c_str(), 0700) != 0) {
    if (error) *error = "cannot make collector spool " + dir + " private (0700): " + std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace

std::string spool_file_name(uint64_t sequence) {
  std::string digits = std::to_string(sequence);
  return std::string(kSequenceDigits - digits.size(), '0') + digits + kBatchSuffix;
}

std::unique_ptr<Spool> Spool::open(const std::string& dir, uint64_t max_bytes, std::string* error,
                                   uint64_t first_sequence) {
  if (!make_private_dir(dir, error)) return nullptr;
  std::unique_ptr<Spool> spool(new Spool(dir, max_bytes));
  if (!spool->load(std::max<uint64_t>(first_sequence, 1), error)) return nullptr;
  return spool;
}

std::string Spool::path_of(uint64_t sequence) const { return dir_ + "/" + spool_file_name(sequence); }

bool Spool::load(uint64_t first_sequence, std::string* error) {
  DIR* d = ::opendir(dir_.c_str());
  if (!d) {
    if (error) *error = "cannot read collector spool " + dir_ + ": " + std::strerror(errno);
    return false;
  }
  uint64_t persisted = 0;
  while (struct dirent* entry = ::readdir(d)) {
    const std::string name = entry->d_name;
    const std::string path = dir_ + "/" + name;
    if (name.rfind(kTempPrefix, 0) == 0) {
      ::unlink(path.c_str());  // a write cut short by a crash: never renamed, never acknowledged
      continue;
    }
    if (name == kSequenceFile) {
      char buf[32] = {};
      int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
      ssize_t n = fd >= 0 ? ::read(fd, buf, sizeof(buf) - 1) : -1;
      if (fd >= 0) ::close(fd);
      std::string_view text(buf, n > 0 ? static_cast<size_t>(n) : 0);
      while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
      if (auto v = parse_sequence(text)) persisted = *v;
      continue;
    }
    auto sequence = batch_sequence(name);
    if (!sequence) continue;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || static_cast<size_t>(st.st_size) < kSpoolHeaderBytes) {
      ::unlink(path.c_str());
      ++counters_.corrupt;
      continue;
    }
    files_[*sequence] = static_cast<uint64_t>(st.st_size);
    bytes_ += static_cast<uint64_t>(st.st_size);
  }
  ::closedir(d);
  next_sequence_ = std::max<uint64_t>(persisted, files_.empty() ? 0 : files_.rbegin()->first + 1);
  if (next_sequence_ == 0) next_sequence_ = first_sequence;  // a new spool
  while (bytes_ > max_bytes_ && !files_.empty()) drop_oldest_locked();  // the limit may have shrunk
  return true;
}

uint64_t Spool::next_sequence() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return next_sequence_;
}

bool Spool::persist_sequence(uint64_t next, int* error_number) {
  return write_durably(dir_, kSequenceFile, std::to_string(next) + "\n", error_number);
}

bool Spool::write_file(uint64_t sequence, std::string_view body, int* error_number) {
  std::string data(kMagic, sizeof(kMagic));
  put_le32(data, static_cast<uint32_t>(body.size()));
  put_le32(data, crc_of(body));
  data.append(body);
  return write_durably(dir_, spool_file_name(sequence), data, error_number);
}

// Whether `size` bytes could be written if every held batch were deleted: free blocks plus the blocks of our files.
// When the file system cannot tell, assume it could (then deleting the oldest batches is tried as before).
bool Spool::fits_on_emptied_disk_locked(uint64_t size) const {
  struct statvfs fs {};
  if (::statvfs(dir_.c_str(), &fs) != 0 || fs.f_frsize == 0) return true;
  auto blocks_of = [&](uint64_t bytes) { return (bytes + fs.f_frsize - 1) / fs.f_frsize; };
  uint64_t available = fs.f_bfree;
  for (const auto& [_, bytes] : files_) available += blocks_of(bytes);
  return blocks_of(size) <= available;
}

void Spool::drop_oldest_locked() {
  remove_locked(files_.begin()->first);
  ++counters_.dropped_full;
}

void Spool::remove_locked(uint64_t sequence) {
  auto it = files_.find(sequence);
  if (it == files_.end()) return;
  ::unlink(path_of(sequence).c_str());
  bytes_ -= it->second;
  files_.erase(it);
}

bool Spool::put(uint64_t sequence, std::string_view body) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (body.size() > UINT32_MAX) {
    ++counters_.write_failures;
    return false;
  }
  const uint64_t size = kSpoolHeaderBytes + body.size();
  if (sequence < next_sequence_) sequence = next_sequence_;  // never reuse a sequence
  next_sequence_ = sequence + 1;
  if (size > max_bytes_) {
    ++counters_.dropped_full;
    return false;
  }
  while (bytes_ + size > max_bytes_ && !files_.empty()) drop_oldest_locked();
  for (;;) {
    // The counter is persisted first: once all batches are acknowledged and deleted it is the only record of the
    // sequence, and a reused sequence would be taken for a duplicate by the collector (silent loss).
    int error_number = 0;
    if (persist_sequence(next_sequence_, &error_number) && write_file(sequence, body, &error_number)) break;
    bool disk_full = error_number == ENOSPC || error_number == EDQUOT;
    if (disk_full && !fits_on_emptied_disk_locked(size)) {  // too large for this disk: keep what is held
      ++counters_.dropped_full;
      return false;
    }
    if (!disk_full || files_.empty()) {
      ++counters_.write_failures;
      return false;
    }
    drop_oldest_locked();  // the disk is full before the spool is: make room the same way
  }
  files_[sequence] = size;
  bytes_ += size;
  return true;
}

std::vector<uint64_t> Spool::sequences() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<uint64_t> out;
  out.reserve(files_.size());
  for (const auto& [sequence, _] : files_) out.push_back(sequence);
  return out;
}

std::optional<uint64_t> Spool::oldest() const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (files_.empty()) return std::nullopt;
  return files_.begin()->first;
}

std::optional<std::string> Spool::read(uint64_t sequence) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!files_.count(sequence)) return std::nullopt;
  std::string data;
  int fd = ::open(path_of(sequence).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd >= 0) {
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      data.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
  }
  bool intact = data.size() >= kSpoolHeaderBytes && std::memcmp(data.data(), kMagic, sizeof(kMagic)) == 0 &&
                get_le32(data.data() + 8) == data.size() - kSpoolHeaderBytes &&
                get_le32(data.data() + 12) == crc_of(std::string_view(data).substr(kSpoolHeaderBytes));
  if (!intact) {
    remove_locked(sequence);
    ++counters_.corrupt;
    return std::nullopt;
  }
  return data.substr(kSpoolHeaderBytes);
}

void Spool::remove(uint64_t sequence) {
  std::lock_guard<std::mutex> lock(mutex_);
  remove_locked(sequence);
}

SpoolStats Spool::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  SpoolStats out = counters_;
  out.batches = files_.size();
  out.bytes = bytes_;
  return out;
}

}  // namespace credtrace::exporter
