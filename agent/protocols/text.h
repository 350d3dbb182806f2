// Internal: small text helpers shared by the protocol parsers (case, trimming, decoding, entropy, wiping).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace credtrace::protocols::detail {

constexpr char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
std::string to_lower(std::string_view text);
void lower_in_place(std::string& text);
bool iequals(std::string_view a, std::string_view b);
bool icontains(std::string_view haystack, std::string_view needle);

// Removes spaces and horizontal tabs (HTTP optional whitespace) around `text`.
inline std::string_view trim_ows(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Percent-decoding (invalid escapes are kept literally); '+' becomes a space when plus_as_space.
std::string percent_decode(std::string_view text, bool plus_as_space);

// Standard or URL-safe base64, padding optional; nullopt on any other character or an impossible length.
std::optional<std::string> base64_decode(std::string_view encoded);

// Shannon entropy of the bytes of `text` in bits per character (0 for empty text).
double shannon_entropy(std::string_view text);

// Overwrites the string's bytes (explicit_bzero: a store the compiler may not drop) and empties it.
void wipe(std::string& text);

}  // namespace credtrace::protocols::detail
