// Lowercase hex encoding and SHA-256 digests shared by every module (header-only; callers link OpenSSL::Crypto).
#pragma once

#include <openssl/evp.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace credtrace::common {

// Writes into out in place (no temporary copy: used for key material that is cleansed afterwards).
inline void hex_encode_into(const unsigned char* data, size_t size, std::string& out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  out.resize(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 15];
  }
}

inline std::string hex_encode(const unsigned char* data, size_t size) {
  std::string out;
  hex_encode_into(data, size, out);
  return out;
}

inline std::string sha256_hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(), nullptr) != 1) return {};
  return hex_encode(digest, size);
}

}  // namespace credtrace::common
