// Bearer-token sets (agents, readers): token files are read once, only SHA-256 hashes are kept, compared in constant time.
#include "auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <sys/stat.h>

#include <fstream>

#include "log.h"

namespace credtrace::collector {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

void warn_if_readable_by_others(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 0004))
    log_warn("token file " + path + " is readable by every user; chmod o-r it");
}

}  // namespace

TokenSet::Hash TokenSet::hash(std::string_view token) {
  Hash out{};
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), out.data());
  return out;
}

Status TokenSet::load(const std::string& path, TokenSet& out) {
  std::ifstream in(path);
  if (!in) return Status::error("cannot read token file " + path);
  warn_if_readable_by_others(path);
  std::vector<std::string> tokens;
  std::string line;
  while (std::getline(in, line)) {
    std::string_view token = trim(line);
    if (token.empty() || token.front() == '#') continue;
    tokens.emplace_back(token);
    std::fill(line.begin(), line.end(), '\0');
  }
  if (tokens.empty()) return Status::error("token file " + path + " holds no token");
  out = from_tokens(tokens);
  for (auto& token : tokens) std::fill(token.begin(), token.end(), '\0');
  return {};
}

TokenSet TokenSet::from_tokens(const std::vector<std::string>& tokens) {
  TokenSet set;
  for (const auto& token : tokens) set.hashes_.push_back(hash(token));
  return set;
}

bool TokenSet::contains(std::string_view token) const {
  if (token.empty()) return false;
  Hash presented = hash(token);
  bool found = false;
  for (const auto& candidate : hashes_)  // every hash is compared: time does not depend on which one matches
    found |= CRYPTO_memcmp(candidate.data(), presented.data(), presented.size()) == 0;
  return found;
}

bool TokenSet::authorizes(std::string_view authorization) const {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() <= kBearer.size()) return false;
  for (size_t i = 0; i < kBearer.size() - 1; ++i)
    if ((authorization[i] | 0x20) != (kBearer[i] | 0x20)) return false;
  if (authorization[kBearer.size() - 1] != ' ') return false;
  return contains(trim(authorization.substr(kBearer.size())));
}

}  // namespace credtrace::collector
