// /proc readers: plain open/read loops with size caps (procfs files report size 0), no exceptions.
#include "identity/procfs.h"

#include <atomic>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>

#include "common/unique_fd.h"

namespace credtrace::identity {

using common::UniqueFd;
namespace {

constexpr size_t kSmallFileCap = 64 * 1024;
constexpr size_t kInitialBuffer = 4096;
constexpr size_t kMaxLinkTarget = 64 * 1024;
constexpr uint64_t kNsPerSec = 1'000'000'000ULL;

std::string pid_path(const std::string& proc_root, int32_t pid, const char* leaf) {
  return proc_root + "/" + std::to_string(pid) + "/" + leaf;
}

// Growable byte buffer; when `wipe` is set, every discarded allocation is cleansed first.
class ReadBuffer {
 public:
  explicit ReadBuffer(bool wipe) : wipe_(wipe) {}
  ~ReadBuffer() { cleanse(); }
  ReadBuffer(const ReadBuffer&) = delete;
  ReadBuffer& operator=(const ReadBuffer&) = delete;

  std::string_view view() const { return {buf_.data(), used_}; }

  // Reads fd to EOF or `cap` bytes. false on read error.
  bool fill(int fd, size_t cap) {
    while (used_ < cap) {
      if (used_ == buf_.size()) grow(std::min(cap, std::max(kInitialBuffer, buf_.size() * 2)));
      ssize_t n = ::read(fd, buf_.data() + used_, buf_.size() - used_);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return false;
      if (n == 0) return true;
      used_ += static_cast<size_t>(n);
    }
    char more;  // at the cap: one byte more says whether the file goes on
    ssize_t n;
    do n = ::read(fd, &more, 1);
    while (n < 0 && errno == EINTR);
    truncated_ = n > 0;
    return true;
  }
  bool truncated() const { return truncated_; }

  void cleanse() {
    if (wipe_ && !buf_.empty()) OPENSSL_cleanse(buf_.data(), buf_.size());
  }

 private:
  void grow(size_t size) {
    std::vector<char> bigger(size);
    std::copy_n(buf_.begin(), used_, bigger.begin());
    cleanse();
    buf_.swap(bigger);
  }

  bool wipe_;
  std::vector<char> buf_;
  size_t used_ = 0;
  bool truncated_ = false;
};

bool read_into(const std::string& path, size_t cap, ReadBuffer& buf) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  return fd && buf.fill(fd.get(), cap);
}

std::optional<std::string> read_text(const std::string& path, size_t cap = kSmallFileCap) {
  ReadBuffer buf(false);
  if (!read_into(path, cap, buf)) return std::nullopt;
  return std::string(buf.view());
}

std::string read_link(const std::string& path) {
  std::vector<char> buf(PATH_MAX);
  while (buf.size() <= kMaxLinkTarget) {
    ssize_t n = ::readlink(path.c_str(), buf.data(), buf.size());
    if (n < 0) return "";
    if (static_cast<size_t>(n) < buf.size()) return std::string(buf.data(), static_cast<size_t>(n));
    buf.resize(buf.size() * 2);
  }
  return "";
}

template <typename T>
bool parse_number(std::string_view s, T& out) {
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// First whitespace-separated token of a status value ("1000\t1000\t1000\t1000" → "1000").
std::string_view first_token(std::string_view s) {
  s = trim(s);
  return s.substr(0, s.find_first_of(" \t"));
}

// Second token ("Uid:  real  effective ..." → effective).
std::string_view second_token(std::string_view s) {
  s = trim(s);
  size_t gap = s.find_first_of(" \t");
  if (gap == std::string_view::npos) return {};
  return first_token(s.substr(gap));
}

void apply_status_line(std::string_view key, std::string_view value, ProcStatus& st, bool& has_pid) {
  if (key == "Name") st.name = std::string(trim(value));
  else if (key == "Pid") has_pid = parse_number(first_token(value), st.pid);
  else if (key == "PPid") parse_number(first_token(value), st.ppid);
  else if (key == "Tgid") parse_number(first_token(value), st.tgid);
  else if (key == "Uid") {
    parse_number(first_token(value), st.uid);
    parse_number(second_token(value), st.euid);
  } else if (key == "Gid") parse_number(first_token(value), st.gid);
}

std::vector<std::string_view> split_spaces(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\n')) ++i;
    size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\n') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

uint64_t ticks_to_ns(uint64_t ticks, uint64_t hz) {
  return (ticks / hz) * kNsPerSec + (ticks % hz) * kNsPerSec / hz;
}

uint64_t timespec_ns(const timespec& ts) {
  return static_cast<uint64_t>(ts.tv_sec) * kNsPerSec + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t btime_from_proc_stat() {
  auto text = read_text("/proc/stat", 1024 * 1024);
  if (!text) return 0;
  size_t at = text->find("\nbtime ");
  if (at == std::string::npos) return 0;
  std::string_view rest = std::string_view(*text).substr(at + 7);
  uint64_t secs = 0;
  return parse_number(rest.substr(0, rest.find('\n')), secs) ? secs * kNsPerSec : 0;
}

struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};

bool all_digits(const char* s) {
  if (*s == '\0') return false;
  for (; *s != '\0'; ++s) {
    if (*s < '0' || *s > '9') return false;
  }
  return true;
}

}  // namespace

std::vector<std::string> split_nul(std::string_view raw) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < raw.size()) {
    size_t end = raw.find('\0', start);
    if (end == std::string_view::npos) end = raw.size();
    out.emplace_back(raw.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::optional<ProcStatus> read_status(int32_t pid, const std::string& proc_root) {
  auto text = read_text(pid_path(proc_root, pid, "status"));
  if (!text) return std::nullopt;
  ProcStatus st;
  bool has_pid = false;
  std::string_view rest(*text);
  while (!rest.empty()) {
    std::string_view line = rest.substr(0, rest.find('\n'));
    rest.remove_prefix(std::min(rest.size(), line.size() + 1));
    size_t colon = line.find(':');
    if (colon != std::string_view::npos) apply_status_line(line.substr(0, colon), line.substr(colon + 1), st, has_pid);
  }
  if (!has_pid) return std::nullopt;
  return st;
}

std::atomic<uint64_t> cmdline_truncations{0}, environ_truncations{0};

std::optional<std::vector<std::string>> read_cmdline(int32_t pid, const std::string& proc_root) {
  ReadBuffer buf(false);
  if (!read_into(pid_path(proc_root, pid, "cmdline"), kMaxCmdlineBytes, buf)) return std::nullopt;
  if (buf.truncated()) cmdline_truncations.fetch_add(1, std::memory_order_relaxed);
  return split_nul(buf.view());
}

ProcfsTruncations procfs_truncations() {
  return {cmdline_truncations.load(std::memory_order_relaxed), environ_truncations.load(std::memory_order_relaxed)};
}

std::optional<std::vector<std::pair<std::string, std::string>>> read_environ(int32_t pid,
                                                                           const std::string& proc_root) {
  ReadBuffer buf(true);  // destructor cleanses the raw bytes on every return path
  if (!read_into(pid_path(proc_root, pid, "environ"), kMaxEnvironBytes, buf)) return std::nullopt;
  std::vector<std::pair<std::string, std::string>> vars;
  std::string_view raw = buf.view();
  if (buf.truncated()) {  // the last entry may be cut inside its value: a cut value is not the value, left out
    environ_truncations.fetch_add(1, std::memory_order_relaxed);
    const size_t last_nul = raw.rfind('\0');
    raw = raw.substr(0, last_nul == std::string_view::npos ? 0 : last_nul + 1);
  }
  size_t start = 0;
  while (start < raw.size()) {
    size_t end = std::min(raw.find('\0', start), raw.size());
    std::string_view entry = raw.substr(start, end - start);
    start = end + 1;
    if (entry.empty()) continue;
    size_t eq = entry.find('=');
    if (eq == std::string_view::npos) vars.emplace_back(std::string(entry), std::string());
    else vars.emplace_back(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return vars;
}

std::string read_exe(int32_t pid, const std::string& proc_root) {
  constexpr std::string_view kDeleted = " (deleted)";
  std::string target = read_link(pid_path(proc_root, pid, "exe"));
  if (target.size() > kDeleted.size() && std::string_view(target).substr(target.size() - kDeleted.size()) == kDeleted) {
    target.resize(target.size() - kDeleted.size());
  }
  return target;
}

std::string read_cwd(int32_t pid, const std::string& proc_root) {
  return read_link(pid_path(proc_root, pid, "cwd"));
}

std::string read_cgroup_file(int32_t pid, const std::string& proc_root) {
  return read_text(pid_path(proc_root, pid, "cgroup")).value_or("");
}

std::optional<uint64_t> read_start_time_ns(int32_t pid, const std::string& proc_root) {
  constexpr size_t kStartTimeIndex = 22 - 3;  // fields after ')' start at field 3 (state)
  auto text = read_text(pid_path(proc_root, pid, "stat"));
  if (!text) return std::nullopt;
  size_t close = text->rfind(')');  // comm may itself contain spaces and ')'
  if (close == std::string::npos) return std::nullopt;
  auto fields = split_spaces(std::string_view(*text).substr(close + 1));
  uint64_t ticks = 0;
  if (fields.size() <= kStartTimeIndex || !parse_number(fields[kStartTimeIndex], ticks)) return std::nullopt;
  long hz = sysconf(_SC_CLK_TCK);
  if (hz <= 0) return std::nullopt;
  return ticks_to_ns(ticks, static_cast<uint64_t>(hz));
}

std::vector<int32_t> list_pids(const std::string& proc_root) {
  std::vector<int32_t> pids;
  std::unique_ptr<DIR, DirCloser> dir(::opendir(proc_root.c_str()));
  if (!dir) return pids;
  while (const dirent* entry = ::readdir(dir.get())) {
    int32_t pid = 0;
    if (all_digits(entry->d_name) && parse_number(std::string_view(entry->d_name), pid)) pids.push_back(pid);
  }
  std::sort(pids.begin(), pids.end());
  return pids;
}

std::optional<std::vector<int32_t>> read_children(int32_t pid, const std::string& proc_root) {
  const std::string tasks = proc_root + "/" + std::to_string(pid) + "/task";
  std::unique_ptr<DIR, DirCloser> dir(::opendir(tasks.c_str()));
  if (!dir) return std::nullopt;
  std::vector<int32_t> children;
  bool any_task = false;
  while (const dirent* entry = ::readdir(dir.get())) {
    if (!all_digits(entry->d_name)) continue;
    any_task = true;
    const std::string task = tasks + "/" + entry->d_name;
    auto text = read_text(task + "/children", 1024 * 1024);
    if (!text) {
      if (::access(task.c_str(), F_OK) == 0 && ::access((task + "/children").c_str(), F_OK) != 0) return std::nullopt;
      continue;  // the thread exited since the listing
    }
    std::string_view rest(*text);
    while (!rest.empty()) {
      size_t space = rest.find_first_of(" \n");
      std::string_view word = rest.substr(0, space);
      rest.remove_prefix(space == std::string_view::npos ? rest.size() : space + 1);
      int32_t child = 0;
      if (!word.empty() && parse_number(word, child)) children.push_back(child);
    }
  }
  if (!any_task) return std::nullopt;
  std::sort(children.begin(), children.end());
  return children;
}

uint64_t boot_time_unix_ns() {
  timespec real{}, boot{};
  if (::clock_gettime(CLOCK_REALTIME, &real) == 0 && ::clock_gettime(CLOCK_BOOTTIME, &boot) == 0) {
    uint64_t r = timespec_ns(real), b = timespec_ns(boot);
    if (r > b) return r - b;
  }
  return btime_from_proc_stat();
}

}  // namespace credtrace::identity
