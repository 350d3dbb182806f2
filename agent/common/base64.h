// Base64 decoding shared by every module (header-only): base64url for JWTs, or either alphabet (Basic auth).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace credtrace::common {

enum class Base64Alphabet { url_only, standard_or_url };

inline int base64_digit(char c, Base64Alphabet alphabet) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  if (alphabet == Base64Alphabet::standard_or_url && c == '+') return 62;
  if (alphabet == Base64Alphabet::standard_or_url && c == '/') return 63;
  return -1;
}

// Padding optional (trailing '=' ignored); nullopt on a character outside the alphabet or an impossible length.
inline std::optional<std::string> base64_decode(std::string_view encoded, Base64Alphabet alphabet) {
  while (!encoded.empty() && encoded.back() == '=') encoded.remove_suffix(1);
  if (encoded.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(encoded.size() * 3 / 4);
  uint32_t accumulator = 0;
  int bits = 0;
  for (char c : encoded) {
    int value = base64_digit(c, alphabet);
    if (value < 0) return std::nullopt;
    accumulator = (accumulator << 6) | static_cast<uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((accumulator >> bits) & 0xFFu));
    }
  }
  return out;
}

}  // namespace credtrace::common
