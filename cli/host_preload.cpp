// `credtrace preload host-wide`: adds, removes and reports the libcredtrace-preload.so line of /etc/ld.so.preload,
// leaving every other line as it is; writes are atomic (temp file + rename) and keep the file's mode and owner.
#include "host_preload.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <exception>
#include <optional>
#include <sstream>
#include <vector>

#include "atomic_file.h"
#include "logging/log.h"
#include "run_command.h"

namespace credtrace::cli {
namespace {

constexpr int kExitError = 2;

struct PreloadFile {
  bool exists = false;
  FileState state;
  std::vector<std::string> lines;  // without their '\n'
};

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

std::vector<std::string> tokens_of(const std::string& line) {
  std::vector<std::string> tokens;
  std::string content = line.substr(0, line.find('#'));
  std::istringstream in(content);
  for (std::string token; in >> token;) tokens.push_back(token);
  return tokens;
}

// The credtrace entries in `file` (any libcredtrace-preload.so, or `library` when given).
std::vector<std::string> credtrace_entries(const PreloadFile& file, const std::string& library) {
  std::vector<std::string> found;
  for (const std::string& line : file.lines)
    for (const std::string& token : tokens_of(line))
      if (is_credtrace_library(token, library.empty() ? kPreloadLibraryName : library)) found.push_back(token);
  return found;
}

std::optional<PreloadFile> load(const std::string& path) {
  PreloadFile file;
  std::string error;
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 && errno == ENOENT) return file;
  std::optional<FileState> state = read_file_state(path, error);
  if (!state) {
    log::error(path + ": " + error);
    return std::nullopt;
  }
  file.exists = true;
  file.state = std::move(*state);
  file.lines = split_lines(file.state.content);
  return file;
}

bool store(const std::string& path, const PreloadFile& file) {
  std::string text;
  for (const std::string& line : file.lines) text += line + "\n";
  std::string error;
  mode_t mode = file.exists ? file.state.mode : 0644;
  uid_t uid = file.exists ? file.state.uid : ::geteuid();
  gid_t gid = file.exists ? file.state.gid : ::getegid();
  if (file.exists && !unchanged_since(path, file.state)) {
    log::error(path + ": changed while it was being rewritten; nothing changed, run again");
    return false;
  }
  if (!replace_file(path, text, mode, uid, gid, error)) {
    log::error(path + ": cannot write it: " + error);
    return false;
  }
  return true;
}

// A shared object ld.so can load: an absolute path to a readable ELF file.
std::string library_problem(const std::string& path) {
  if (path.empty() || path[0] != '/') return path + ": not an absolute path";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return path + ": cannot be read";
  std::array<char, 4> magic{};
  ssize_t n = ::read(fd, magic.data(), magic.size());
  ::close(fd);
  if (n != 4 || magic[0] != 0x7f || magic[1] != 'E' || magic[2] != 'L' || magic[3] != 'F')
    return path + ": not an ELF shared object";
  return "";
}

// Removes the credtrace entries (a line left empty by it goes; other entries on the line stay).
int remove_entries(PreloadFile& file, const std::string& library) {
  int removed = 0;
  std::vector<std::string> kept;
  for (const std::string& line : file.lines) {
    std::vector<std::string> tokens = tokens_of(line);
    std::string rebuilt;
    bool ours = false;
    for (const std::string& token : tokens) {
      if (is_credtrace_library(token, library.empty() ? kPreloadLibraryName : library)) {
        ours = true;
        ++removed;
      } else {
        rebuilt += (rebuilt.empty() ? "" : " ") + token;
      }
    }
    if (!ours) kept.push_back(line);
    else if (!rebuilt.empty()) kept.push_back(rebuilt);
  }
  file.lines = std::move(kept);
  return removed;
}

int enable(const HostPreloadOptions& options, std::ostream& out) {
  PreloadLookup lookup = find_preload_library(options.preload);
  std::string problem = lookup.path.empty() ? lookup.problem : library_problem(lookup.path);
  if (problem.empty() && lookup.path.substr(lookup.path.rfind('/') + 1) != kPreloadLibraryName)
    problem = lookup.path + ": not named " + std::string(kPreloadLibraryName) + " (disable and status find the line by that name)";
  if (!problem.empty()) {
    log::error("not enabled: " + problem + " (a missing or broken library in " + options.file +
               " makes ld.so complain in every program)");
    return kExitError;
  }
  std::optional<PreloadFile> file = load(options.file);
  if (!file) return kExitError;
  std::vector<std::string> present = credtrace_entries(*file, "");
  if (present.size() == 1 && present[0] == lookup.path) {
    out << "already enabled: " << lookup.path << " in " << options.file << "\n";
    return 0;
  }
  remove_entries(*file, "");  // another path of the library (an older install): replaced by this one
  file->lines.push_back(lookup.path);
  if (!store(options.file, *file)) return kExitError;
  out << "enabled: " << lookup.path << " added to " << options.file
      << "; every dynamically linked program started from now on loads it (off: credtrace preload host-wide "
         "disable)\n";
  return 0;
}

int disable(const HostPreloadOptions& options, std::ostream& out) {
  std::optional<PreloadFile> file = load(options.file);
  if (!file) return kExitError;
  std::string library = options.preload.empty() ? "" : absolute_path(options.preload);
  if (!file->exists || remove_entries(*file, library) == 0) {
    out << "not enabled: " << options.file << " has no credtrace line\n";
    return 0;
  }
  if (!store(options.file, *file)) return kExitError;
  out << "disabled: the credtrace line removed from " << options.file
      << " (processes already running keep the library until they exit)\n";
  return 0;
}

int status(const HostPreloadOptions& options, std::ostream& out) {
  std::optional<PreloadFile> file = load(options.file);
  if (!file) return kExitError;
  std::vector<std::string> present = credtrace_entries(*file, "");
  if (present.empty()) {
    out << "disabled: " << options.file << (file->exists ? " has no credtrace line" : " does not exist") << "\n";
    return 0;
  }
  for (const std::string& entry : present) {
    std::string problem = library_problem(entry);
    out << "enabled: " << entry << " in " << options.file << "\n";
    if (!problem.empty())
      out << "broken: " << problem << ": ld.so reports an error in every program; run credtrace preload host-wide "
          << "disable\n";
  }
  return 0;
}

}  // namespace

int run_host_preload(const HostPreloadOptions& options, std::ostream& out) {
  try {
    if (options.action == "enable") return enable(options, out);
    if (options.action == "disable") return disable(options, out);
    if (options.action == "status") return status(options, out);
    log::error("unknown action " + options.action + " (enable, disable or status)");
  } catch (const std::exception& e) {  // nothing leaves the command as an exception
    log::error(options.file + ": " + e.what());
  }
  return kExitError;
}

}  // namespace credtrace::cli
