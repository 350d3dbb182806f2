// Test helpers for agent/credfiles: fixture access, the fake values the fixtures hold, finding lookup, TempDir.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "credfiles/finding.h"

namespace credtrace::credfiles::testing {

inline std::string fixture_path(const std::string& rel) { return std::string(CREDTRACE_FIXTURES) + "/credfiles/" + rel; }

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline std::string read_fixture(const std::string& rel) { return read_file(fixture_path(rel)); }

// NAME → raw fake value, from tests/fixtures/credfiles/values.txt (the values the fixtures hold).
inline const std::map<std::string, std::string>& fake_values() {
  static const std::map<std::string, std::string> values = [] {
    std::map<std::string, std::string> out;
    std::istringstream in(read_fixture("values.txt"));
    std::string line;
    while (std::getline(in, line)) {
      size_t eq = line.find('=');
      if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return out;
  }();
  return values;
}

inline const std::string& fake(const std::string& name) { return fake_values().at(name); }

// The finding with this key (the first one), or nullptr.
inline const Finding* find_key(const ParseResult& result, std::string_view key) {
  for (const Finding& f : result.findings) {
    if (f.key == key) return &f;
  }
  return nullptr;
}

inline size_t count_secrets(const ParseResult& result) {
  size_t n = 0;
  for (const Finding& f : result.findings) n += f.is_secret();
  return n;
}

// Every printable part of a finding (what may leave the process) concatenated, to grep for raw values.
inline std::string printable_parts(const ParseResult& result) {
  std::string out = result.error;
  for (const Finding& f : result.findings) out += "|" + f.key + "|" + f.type + "|" + f.reference + "|" + f.server;
  return out;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "credtrace-credfiles-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) {
      std::filesystem::permissions(path_, std::filesystem::perms::owner_all, std::filesystem::perm_options::add, ec);
      std::filesystem::remove_all(path_, ec);
    }
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string str(const std::string& rel = "") const { return rel.empty() ? path_.string() : (path_ / rel).string(); }

  std::string write(const std::string& rel, std::string_view content) const {
    auto full = path_ / rel;
    std::filesystem::create_directories(full.parent_path());
    std::ofstream out(full, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    return full.string();
  }

 private:
  std::filesystem::path path_;
};

// Seeded random FAKE credentials in public token shapes (for generated trees).
class FakeTokens {
 public:
  explicit FakeTokens(unsigned seed) : rng_(seed) {}
  std::string from(std::string_view charset, size_t n) {
    std::uniform_int_distribution<size_t> pick(0, charset.size() - 1);
    std::string out;
    for (size_t i = 0; i < n; ++i) out.push_back(charset[pick(rng_)]);
    return out;
  }
  std::string alnum(size_t n) { return from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", n); }
  std::string github_pat() { return "ghp_" + alnum(36); }
  std::string aws_key_id() { return "AKIA" + from("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16); }
  std::string aws_secret() { return from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+", 40); }
  std::string slack_bot() { return "xoxb-" + from("0123456789", 12) + "-" + from("0123456789", 13) + "-" + alnum(24); }
  std::string anthropic() {
    return "sk-ant-api03-" + from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", 93) + "AA";
  }
  std::string openai() {
    const std::string_view chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    return "sk-proj-" + from(chars, 74) + "T3BlbkFJ" + from(chars, 74);
  }
  std::string gitlab_pat() { return "glpat-" + from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", 20); }
  std::string password() { return "Pw-" + alnum(17); }

 private:
  std::mt19937 rng_;
};

}  // namespace credtrace::credfiles::testing
