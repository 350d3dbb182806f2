// Placeholder recognition: variable references, template markers, filler words and masked runs.
#include "secrets/placeholders.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <string>

#include "secrets/detectors.h"

namespace credtrace::secrets {
namespace {

// Compared with the whole (trimmed, lowercased) value.
// Weak real passwords ("password", "secret", "test") are deliberately not here: they authenticate.
constexpr std::array<std::string_view, 14> kFillerWords = {
    "todo", "tbd",  "fixme", "placeholder", "dummy", "null",    "nil",
    "none", "undefined", "true", "false", "changeme", "example", "redacted"};

// Found anywhere in the lowercased value; distinctive enough not to occur in random tokens.
constexpr std::array<std::string_view, 14> kFillerMarkers = {
    "changeme",  "change_me",  "change-me",  "replace_me", "replace-me", "replaceme", "placeholder",
    "your-api-key", "your_api_key", "yourapikey", "your-token", "your_token", "_here", "-here"};

constexpr char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
constexpr char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

// A bit per marker, by its first character in either case: a value is searched only where one could start.
constexpr std::array<uint16_t, 256> make_markers_by_first_char() {
  std::array<uint16_t, 256> markers{};
  for (size_t i = 0; i < kFillerMarkers.size(); ++i) {
    const char first = kFillerMarkers[i].front();
    markers[static_cast<unsigned char>(first)] |= static_cast<uint16_t>(1u << i);
    markers[static_cast<unsigned char>(upper(first))] |= static_cast<uint16_t>(1u << i);
  }
  return markers;
}

static_assert(kFillerMarkers.size() <= 16, "one bit per marker in kMarkersByFirstChar");
constexpr std::array<uint16_t, 256> kMarkersByFirstChar = make_markers_by_first_char();

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view value) {
  while (!value.empty() && (is_space(value.front()) || value.front() == '"' || value.front() == '\'')) {
    value.remove_prefix(1);
  }
  while (!value.empty() && (is_space(value.back()) || value.back() == '"' || value.back() == '\'')) {
    value.remove_suffix(1);
  }
  return value;
}

bool is_identifier(std::string_view name) {
  if (name.empty() || (name.front() >= '0' && name.front() <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// ${VAR}, ${VAR:-default}, ${env:VAR}, ${input:id}, $VAR, $(cmd), {{ var }}, <your-token>, %VAR%.
bool is_reference_or_template(std::string_view value) {
  if (value.starts_with("${") && value.ends_with('}')) return true;
  if (value.starts_with("$(") && value.ends_with(')')) return true;
  if (value.starts_with('$') && is_identifier(value.substr(1))) return true;
  if (value.starts_with("{{") && value.ends_with("}}")) return true;
  if (value.size() >= 2 && value.starts_with('<') && value.ends_with('>')) return true;
  return value.size() >= 3 && value.starts_with('%') && value.ends_with('%') &&
         is_identifier(value.substr(1, value.size() - 2));
}

bool is_mask_char(char c) { return c == 'x' || c == 'X' || c == '*'; }

// Four or more of the same mask character in a row ("xxxx", "XXXX", "****").
bool has_mask_run(std::string_view value) {
  size_t run = 0;
  for (size_t i = 0; i < value.size(); ++i) {
    run = (i > 0 && value[i] == value[i - 1]) ? run + 1 : 1;
    if (run >= 4 && is_mask_char(value[i])) return true;
  }
  return false;
}

// A typed prefix followed only by mask characters, e.g. "ghp_xx", "sk-proj-***".
bool is_masked_typed_value(std::string_view value) {
  size_t prefix = known_prefix_length(value);
  if (prefix == 0) return false;
  std::string_view rest = value.substr(prefix);
  return std::all_of(rest.begin(), rest.end(), is_mask_char);
}

bool is_one_repeated_char(std::string_view value) {
  return value.find_first_not_of(value.front()) == std::string_view::npos;
}

bool is_elided(std::string_view value) { return value.ends_with("...") || value.ends_with("\xE2\x80\xA6"); }

// `text` starts with `lower_prefix` (lower case), ignoring the case of `text`.
bool starts_with_ignoring_case(std::string_view text, std::string_view lower_prefix) {
  if (text.size() < lower_prefix.size()) return false;
  for (size_t i = 0; i < lower_prefix.size(); ++i) {
    if (lower(text[i]) != lower_prefix[i]) return false;
  }
  return true;
}

bool has_filler_marker(std::string_view value) {
  for (size_t pos = 0; pos < value.size(); ++pos) {
    for (uint32_t markers = kMarkersByFirstChar[static_cast<unsigned char>(value[pos])]; markers != 0;
         markers &= markers - 1) {
      const std::string_view marker = kFillerMarkers[static_cast<size_t>(std::countr_zero(markers))];
      if (starts_with_ignoring_case(value.substr(pos), marker)) return true;
    }
  }
  return false;
}

// A filler word, or a filler marker anywhere, in any case. Compared in place: no copy of the candidate secret.
bool is_filler(std::string_view value) {
  for (std::string_view word : kFillerWords) {
    if (value.size() == word.size() && starts_with_ignoring_case(value, word)) return true;
  }
  return has_filler_marker(value);
}

}  // namespace

bool is_placeholder(std::string_view value) {
  value = trim(value);
  if (value.empty()) return true;
  return is_reference_or_template(value) || is_one_repeated_char(value) || has_mask_run(value) ||
         is_masked_typed_value(value) || is_elided(value) || is_filler(value);
}

}  // namespace credtrace::secrets
