// Bearer-token sets (agents, readers): token files are read once, only SHA-256 hashes are kept, compared in constant time.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "status.h"

namespace credtrace::collector {

class TokenSet {
 public:
  // One token per line; blank lines and lines starting with '#' are ignored; surrounding spaces are trimmed.
  static Status load(const std::string& path, TokenSet& out);
  static TokenSet from_tokens(const std::vector<std::string>& tokens);

  // True when `authorization` is "Bearer <token>" for a token of the set.
  bool authorizes(std::string_view authorization) const;
  bool contains(std::string_view token) const;
  size_t size() const { return hashes_.size(); }

 private:
  using Hash = std::array<uint8_t, 32>;
  static Hash hash(std::string_view token);
  std::vector<Hash> hashes_;
};

}  // namespace credtrace::collector
