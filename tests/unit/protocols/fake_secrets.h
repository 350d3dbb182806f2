// Test helpers: seeded random FAKE credentials in public token shapes, base64 encoders and a JWT builder.
#pragma once

#include <random>
#include <string>
#include <string_view>

namespace credtrace::protocols::testing {

inline constexpr std::string_view kAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
inline constexpr std::string_view kWordDash = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
inline constexpr std::string_view kBase32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

inline std::mt19937& rng() {
  static std::mt19937 generator(20240611);
  return generator;
}

inline std::string random_from(std::string_view charset, size_t count) {
  std::uniform_int_distribution<size_t> pick(0, charset.size() - 1);
  std::string out;
  for (size_t i = 0; i < count; ++i) out.push_back(charset[pick(rng())]);
  return out;
}

inline std::string github_pat() { return "ghp_" + random_from(kAlnum, 36); }
inline std::string github_app_token() { return "ghs_" + random_from(kAlnum, 36); }
inline std::string github_refresh_token() { return "ghr_" + random_from(kAlnum, 36); }
inline std::string openai_key() {
  return "sk-proj-" + random_from(kWordDash, 74) + "T3BlbkFJ" + random_from(kWordDash, 74);
}
inline std::string anthropic_key() { return "sk-ant-api03-" + random_from(kWordDash, 93) + "AA"; }
inline std::string aws_key_id() { return "AKIA" + random_from(kBase32, 16); }
inline std::string generic_secret(size_t length = 32) { return random_from(kAlnum, length); }

inline std::string base64(std::string_view data, bool url) {
  std::string_view alphabet = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                                  : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(data[i]) << 16) | (static_cast<unsigned char>(data[i + 1]) << 8) |
                 static_cast<unsigned char>(data[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out.push_back(alphabet[(v >> shift) & 63]);
  }
  size_t rest = data.size() - i;
  if (rest > 0) {
    unsigned v = static_cast<unsigned char>(data[i]) << 16;
    if (rest == 2) v |= static_cast<unsigned char>(data[i + 1]) << 8;
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    if (rest == 2) out.push_back(alphabet[(v >> 6) & 63]);
    if (!url) out.append(rest == 1 ? "==" : "=");
  }
  return out;
}

inline std::string jwt() {
  std::string header = base64(R"({"alg":"HS256","typ":"JWT"})", true);
  std::string payload =
      base64(R"({"sub":")" + random_from(kAlnum, 12) + R"(","aud":"api","iat":1700000000,"exp":1700003600})", true);
  return header + "." + payload + "." + random_from(kWordDash, 43);
}

inline std::string basic(std::string_view user, std::string_view password) {
  return base64(std::string(user) + ":" + std::string(password), false);
}

}  // namespace credtrace::protocols::testing
