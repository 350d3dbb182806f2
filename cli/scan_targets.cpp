// Scan targets: named paths, recursive directory walks (no symlinked directories) and home-directory defaults.
#include "scan_targets.h"

#include <fnmatch.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>

#include "mcp/client_config.h"

namespace credtrace::cli {
namespace {

namespace fs = std::filesystem;
using credfiles::Format;
using credfiles::PathMatch;

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// A named file that matches no pattern: its extension picks the parser.
PathMatch match_by_extension(const std::string& path) {
  if (ends_with(path, ".json")) return {"", "json", Format::json};
  if (ends_with(path, ".yaml") || ends_with(path, ".yml")) return {"", "yaml", Format::yaml};
  if (ends_with(path, ".ini") || ends_with(path, ".cfg") || ends_with(path, ".conf")) return {"", "ini", Format::ini};
  return {"", "text", Format::text};
}

class Walker {
 public:
  Walker(const WalkRules& rules, TargetList& out) : rules_(rules), out_(out) {}

  void named_path(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      int err = errno;
      bool missing = err == ENOENT || err == ENOTDIR;
      if (!missing) return add_file(path, /*named=*/true);  // ELOOP, EACCES: a per-file error when read
      out_.problems.push_back({path, credfiles::file_error_for_errno(err), "no such file or directory", true});
      return;
    }
    if (S_ISDIR(st.st_mode)) return walk(path);
    add_file(path, /*named=*/true);
  }

 private:
  void add_file(const std::string& path, bool named) {
    if (!seen_.insert(path).second) return;
    std::optional<PathMatch> match = credfiles::match_credential_path(path, *rules_.patterns);
    if (match) {
      out_.targets.push_back({path, *match});
    } else if (named) {
      out_.targets.push_back({path, match_by_extension(path)});
    }
  }

  bool skipped(const fs::path& dir) const {
    std::string name = dir.filename().string();
    if (std::find(rules_.skip_dirs.begin(), rules_.skip_dirs.end(), name) != rules_.skip_dirs.end()) return true;
    std::string full = dir.string();
    return full == "/proc" || full == "/sys" || full == "/dev";  // pseudo file systems of a whole-host scan
  }

  // Depth-first with an explicit stack; entries sorted so the output order is stable.
  void walk(const std::string& root) {
    std::vector<fs::path> pending = {fs::path(root)};
    while (!pending.empty()) {
      fs::path dir = std::move(pending.back());
      pending.pop_back();
      std::vector<fs::directory_entry> entries = list(dir);
      std::vector<fs::path> subdirs;
      for (const fs::directory_entry& entry : entries) {
        std::error_code ec;
        fs::file_status status = entry.symlink_status(ec);
        fs::path path = entry.path().lexically_normal();
        if (!ec && fs::is_directory(status)) {
          if (!skipped(path)) subdirs.push_back(path);
        } else {
          add_file(path.string(), /*named=*/false);
        }
      }
      for (auto it = subdirs.rbegin(); it != subdirs.rend(); ++it) pending.push_back(std::move(*it));
    }
  }

  std::vector<fs::directory_entry> list(const fs::path& dir) {
    std::vector<fs::directory_entry> entries;
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    for (fs::directory_iterator end; !ec && it != end; it.increment(ec)) entries.push_back(*it);
    if (ec) {
      out_.problems.push_back({dir.string(), credfiles::file_error_for_errno(ec.value()), "cannot list directory: " + ec.message(), false});
    }
    std::sort(entries.begin(), entries.end(),
              [](const fs::directory_entry& a, const fs::directory_entry& b) { return a.path() < b.path(); });
    return entries;
  }

  const WalkRules& rules_;
  TargetList& out_;
  std::set<std::string> seen_;
};

bool exists_no_follow(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

std::vector<std::string> split_components(std::string_view glob) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= glob.size()) {
    size_t slash = glob.find('/', start);
    if (slash == std::string_view::npos) slash = glob.size();
    if (slash > start) out.emplace_back(glob.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

// Existing paths under `dir` matching the glob components (wildcards listed with fnmatch, no "**").
void expand(const std::string& dir, const std::vector<std::string>& parts, size_t i, std::vector<std::string>& out) {
  if (i == parts.size()) {
    if (exists_no_follow(dir)) out.push_back(dir);
    return;
  }
  const std::string& part = parts[i];
  if (part == "**") return;
  if (part.find_first_of("*?[") == std::string::npos) return expand(dir + "/" + part, parts, i + 1, out);
  std::error_code ec;
  std::vector<std::string> names;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (::fnmatch(part.c_str(), name.c_str(), 0) == 0) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) expand(dir + "/" + name, parts, i + 1, out);
}

}  // namespace

TargetList targets_for_paths(const std::vector<std::string>& paths, const WalkRules& rules) {
  TargetList out;
  Walker walker(rules, out);
  for (const std::string& path : paths) walker.named_path(path);
  return out;
}

TargetList targets_in_home(const std::string& home, const WalkRules& rules) {
  std::vector<std::string> candidates;
  for (const mcp::ConfigLocation& location : mcp::user_config_locations(home)) {
    if (exists_no_follow(location.path)) candidates.push_back(location.path);
  }
  for (const credfiles::PathPattern& pattern : *rules.patterns) {
    std::string_view glob = pattern.glob;
    if (glob.starts_with('!')) continue;
    if (glob.starts_with("~/")) {
      expand(home, split_components(glob.substr(2)), 0, candidates);
    } else if (glob.find('/') == std::string_view::npos) {
      expand(home, {std::string(glob)}, 0, candidates);
    }
  }
  TargetList out;
  std::set<std::string> seen;
  for (const std::string& path : candidates) {
    if (!seen.insert(path).second) continue;
    std::optional<PathMatch> match = credfiles::match_credential_path(path, *rules.patterns);
    if (!match && mcp::detect_client(path) != mcp::Client::unknown) match = PathMatch{"", "mcp_config", Format::mcp_config};
    if (match) out.targets.push_back({path, *match});
  }
  return out;
}

std::string current_home() {
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') return home;
  if (const struct passwd* pw = ::getpwuid(::getuid()); pw != nullptr && pw->pw_dir != nullptr) return pw->pw_dir;
  return "";
}

}  // namespace credtrace::cli
