// Test helpers: seeded random credential samples with the public formats' charsets and lengths.
#pragma once

#include <random>
#include <string>
#include <string_view>

namespace credtrace::secrets::testing {

inline constexpr std::string_view kUpper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
inline constexpr std::string_view kLower = "abcdefghijklmnopqrstuvwxyz";
inline constexpr std::string_view kDigitChars = "0123456789";
inline constexpr std::string_view kAlnumChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
inline constexpr std::string_view kWordChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_";
inline constexpr std::string_view kWordDashChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
inline constexpr std::string_view kLetterChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
inline constexpr std::string_view kLowerHexChars = "0123456789abcdef";
inline constexpr std::string_view kBase32Chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
inline constexpr std::string_view kLowerAlnumChars = "abcdefghijklmnopqrstuvwxyz0123456789";
inline constexpr std::string_view kUpperAlnumChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

inline std::string random_from(std::mt19937& rng, std::string_view charset, size_t count) {
  std::uniform_int_distribution<size_t> pick(0, charset.size() - 1);
  std::string out;
  for (size_t i = 0; i < count; ++i) out.push_back(charset[pick(rng)]);
  return out;
}

inline std::string openai_project_key(std::mt19937& rng, std::string_view prefix, size_t half) {
  return std::string(prefix) + random_from(rng, kWordDashChars, half) + "T3BlbkFJ" +
         random_from(rng, kWordDashChars, half);
}

inline std::string openai_legacy_key(std::mt19937& rng) {
  return "sk-" + random_from(rng, kAlnumChars, 20) + "T3BlbkFJ" + random_from(rng, kAlnumChars, 20);
}

inline std::string anthropic_key(std::mt19937& rng, std::string_view prefix = "sk-ant-api03-") {
  return std::string(prefix) + random_from(rng, kWordDashChars, 93) + "AA";
}

inline std::string github_pat(std::mt19937& rng) { return "ghp_" + random_from(rng, kAlnumChars, 36); }

inline std::string aws_key_id(std::mt19937& rng) { return "AKIA" + random_from(rng, kBase32Chars, 16); }

}  // namespace credtrace::secrets::testing
