// Small text helpers for the protocol parsers: case folding, trimming, decoding, entropy and wiping.
#include "protocols/text.h"

#include "common/base64.h"

#include <string.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace credtrace::protocols::detail {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

namespace {

constexpr std::array<char, 256> make_ascii_lower() {
  std::array<char, 256> table{};
  for (size_t c = 0; c < table.size(); ++c) table[c] = ascii_lower(static_cast<char>(c));
  return table;
}

constexpr std::array<char, 256> kAsciiLower = make_ascii_lower();

}  // namespace

// Eight bytes at a time (a byte is upper case when its low seven bits are 'A'..'Z' and its high bit is clear: the two
// range tests are additions that cannot carry into the next byte), the tail by table.
void lower_in_place(std::string& text) {
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  constexpr uint64_t kHigh = 0x8080808080808080ull;
  char* bytes = text.data();
  const size_t size = text.size();
  size_t i = 0;
  for (; i + sizeof(uint64_t) <= size; i += sizeof(uint64_t)) {
    uint64_t word;
    std::memcpy(&word, bytes + i, sizeof(word));
    const uint64_t low7 = word & ~kHigh;
    const uint64_t at_least_a = low7 + kOnes * (0x80 - 'A');
    const uint64_t beyond_z = low7 + kOnes * (0x80 - 'Z' - 1);
    const uint64_t upper = at_least_a & ~beyond_z & ~word & kHigh;
    word |= upper >> 2;  // 0x80 >> 2 is the case bit 0x20
    std::memcpy(bytes + i, &word, sizeof(word));
  }
  for (; i < size; ++i) bytes[i] = kAsciiLower[static_cast<unsigned char>(bytes[i])];
}

std::string to_lower(std::string_view text) {
  std::string out(text);
  lower_in_place(out);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

bool icontains(std::string_view haystack, std::string_view needle) {
  if (needle.size() > haystack.size()) return false;
  if (needle.empty()) return true;
  const char first = ascii_lower(needle.front());
  for (size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    if (ascii_lower(haystack[i]) == first && iequals(haystack.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

std::string percent_decode(std::string_view text, bool plus_as_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 && hex_value(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2])));
      i += 2;
    } else {
      out.push_back(c == '+' && plus_as_space ? ' ' : c);
    }
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view encoded) {
  return common::base64_decode(encoded, common::Base64Alphabet::standard_or_url);
}

double shannon_entropy(std::string_view text) {
  if (text.empty()) return 0.0;
  std::array<size_t, 256> counts{};
  for (char c : text) ++counts[static_cast<unsigned char>(c)];
  double entropy = 0.0;
  const double total = static_cast<double>(text.size());
  for (size_t count : counts) {
    if (count == 0) continue;
    double p = static_cast<double>(count) / total;
    entropy -= p * std::log2(p);
  }
  return entropy;
}

void wipe(std::string& text) {
  if (!text.empty()) explicit_bzero(text.data(), text.size());
  text.clear();
}

}  // namespace credtrace::protocols::detail
