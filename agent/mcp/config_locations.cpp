// Where MCP client configs live: per-user and per-project paths, and the home directories to look in.
#include <algorithm>
#include <filesystem>
#include <fstream>

#include "mcp/client_config.h"

namespace credtrace::mcp {
namespace {

namespace fs = std::filesystem;

std::string join(const std::string& dir, std::string_view rel) {
  if (!dir.empty() && dir.back() == '/') return dir + std::string(rel);
  return dir + "/" + std::string(rel);
}

bool has_config_extension(const fs::path& p) {
  const std::string ext = p.extension().string();
  return ext == ".json" || ext == ".yaml" || ext == ".yml";
}

// Existing regular files directly inside dir with a JSON/YAML extension, sorted.
std::vector<std::string> config_files_in(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    if (it->is_regular_file(type_ec) && has_config_extension(it->path())) out.push_back(it->path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Existing subdirectories of dir, sorted.
std::vector<std::string> subdirectories(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    if (it->is_directory(type_ec)) out.push_back(it->path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void add_dir_files(std::vector<ConfigLocation>& out, const std::string& dir, Client client) {
  for (auto& file : config_files_in(dir)) out.push_back({std::move(file), client});
}

constexpr std::string_view kVscodeFlavours[] = {"Code", "Code - Insiders", "VSCodium"};
// Editors Cline (a VS Code extension) can be installed into.
constexpr std::string_view kClineHosts[] = {"Code", "Code - Insiders", "VSCodium", "Cursor", "Windsurf"};
constexpr std::string_view kClineSettings = "User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json";

void add_vscode(std::vector<ConfigLocation>& out, const std::string& home) {
  for (auto flavour : kVscodeFlavours) {
    const std::string user = join(home, ".config/" + std::string(flavour) + "/User");
    out.push_back({join(user, "mcp.json"), Client::vscode});
    for (const auto& profile : subdirectories(join(user, "profiles"))) out.push_back({join(profile, "mcp.json"), Client::vscode});
  }
}

void add_cline(std::vector<ConfigLocation>& out, const std::string& home) {
  for (auto host : kClineHosts) {
    out.push_back({join(home, ".config/" + std::string(host) + "/" + std::string(kClineSettings)), Client::cline});
  }
  out.push_back({join(home, ".cline/data/settings/cline_mcp_settings.json"), Client::cline});
}


// Field 6 (home) of a passwd line; empty for comments and short lines.
std::string passwd_home(const std::string& line) {
  if (line.empty() || line[0] == '#') return "";
  size_t pos = 0;
  for (int field = 0; field < 5; ++field) {
    pos = line.find(':', pos);
    if (pos == std::string::npos) return "";
    ++pos;
  }
  size_t end = line.find(':', pos);
  return line.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
}

// System accounts point their home at binary or pseudo-fs directories; nobody keeps configs there.
bool system_directory(const std::string& dir) {
  for (std::string_view sys : {"/", "/bin", "/sbin", "/usr/bin", "/usr/sbin", "/dev", "/proc", "/sys"}) {
    if (dir == sys) return true;
  }
  return false;
}

bool usable_home(const std::string& home) {
  std::error_code ec;
  return !home.empty() && !system_directory(home) && fs::is_directory(home, ec);
}

void add_unique(std::vector<std::string>& out, const std::string& home) {
  if (usable_home(home) && std::find(out.begin(), out.end(), home) == out.end()) out.push_back(home);
}

}  // namespace

std::vector<ConfigLocation> user_config_locations(const std::string& home_dir) {
  std::vector<ConfigLocation> out = {
      {join(home_dir, ".config/Claude/claude_desktop_config.json"), Client::claude_desktop},
      {join(home_dir, ".claude.json"), Client::claude_code},
      {join(home_dir, ".cursor/mcp.json"), Client::cursor},
  };
  add_vscode(out, home_dir);
  out.push_back({join(home_dir, ".codeium/windsurf/mcp_config.json"), Client::windsurf});
  add_cline(out, home_dir);
  out.push_back({join(home_dir, ".gemini/settings.json"), Client::gemini_cli});
  out.push_back({join(home_dir, ".config/zed/settings.json"), Client::zed});
  out.push_back({join(home_dir, ".continue/config.yaml"), Client::continue_dev});
  add_dir_files(out, join(home_dir, ".continue/mcpServers"), Client::continue_dev);
  return out;
}

std::vector<ConfigLocation> project_config_locations(const std::string& project_dir) {
  std::vector<ConfigLocation> out = {
      {join(project_dir, ".mcp.json"), Client::claude_code},
      {join(project_dir, ".cursor/mcp.json"), Client::cursor},
      {join(project_dir, ".vscode/mcp.json"), Client::vscode},
      {join(project_dir, ".gemini/settings.json"), Client::gemini_cli},
      {join(project_dir, ".zed/settings.json"), Client::zed},
  };
  add_dir_files(out, join(project_dir, ".continue/mcpServers"), Client::continue_dev);
  return out;
}

std::vector<std::string> home_directories(const std::string& passwd_path) {
  std::vector<std::string> out;
  std::ifstream in(passwd_path);
  std::string line;
  while (std::getline(in, line)) add_unique(out, passwd_home(line));
  add_unique(out, "/root");
  return out;
}

}  // namespace credtrace::mcp
