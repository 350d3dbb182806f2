// Base64url decoding without padding (trailing '=' tolerated), no allocation beyond the output.
#include "secrets/base64url.h"

#include <array>
#include <cstdint>

namespace credtrace::secrets::detail {
namespace {

constexpr int kInvalid = -1;

constexpr std::array<int, 256> make_decode_table() {
  std::array<int, 256> table{};
  table.fill(kInvalid);
  constexpr std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (size_t i = 0; i < alphabet.size(); ++i) {
    table[static_cast<unsigned char>(alphabet[i])] = static_cast<int>(i);
  }
  return table;
}

constexpr std::array<int, 256> kDecodeTable = make_decode_table();

std::string_view strip_padding(std::string_view encoded) {
  while (!encoded.empty() && encoded.back() == '=') encoded.remove_suffix(1);
  return encoded;
}

}  // namespace

std::optional<std::string> base64url_decode(std::string_view encoded) {
  encoded = strip_padding(encoded);
  if (encoded.size() % 4 == 1) return std::nullopt;
  std::string decoded;
  decoded.reserve(encoded.size() * 3 / 4);
  uint32_t accumulator = 0;
  int bits = 0;
  for (char c : encoded) {
    int value = kDecodeTable[static_cast<unsigned char>(c)];
    if (value == kInvalid) return std::nullopt;
    accumulator = (accumulator << 6) | static_cast<uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      decoded.push_back(static_cast<char>((accumulator >> bits) & 0xFFu));
    }
  }
  return decoded;
}

}  // namespace credtrace::secrets::detail
