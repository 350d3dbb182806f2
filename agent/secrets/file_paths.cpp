// The path test for values under secret-looking names: path prefix, path characters, no random-looking component.
#include "secrets/file_paths.h"

namespace credtrace::secrets {
namespace {

bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool has_path_prefix(std::string_view value) {
  return value.starts_with('/') || value.starts_with("~/") || value.starts_with("./") || value.starts_with("../");
}

// Characters file paths are written with; a '+', '=', space or quote says the value is something else.
bool is_path_char(char c) {
  if (is_upper(c) || is_lower(c) || is_digit(c)) return true;
  switch (c) {
    case '/': case '.': case '_': case '-': case '~': case '@': case ':': case ',':
      return true;
    default:
      return false;
  }
}

// A run of 16+ characters with no word separator ('.', '_', '-', '~') reads as key material, not as a file
// or directory name ("kubernetes.io", "db_password", "ServiceAccountKey"), when it mixes upper case, lower
// case and digits, or when upper and lower case letters are both at least a quarter of its letters (names
// written in CamelCase have few capitals; base64 has as many as small letters).
constexpr size_t kMinRandomComponentLength = 16;

// The same test over a whole value of key length: base64 key material whose '/' characters fell where they
// split it into short runs.
constexpr size_t kMinRandomValueLength = 30;

bool looks_random(std::string_view run, size_t min_length) {
  if (run.size() < min_length) return false;
  size_t upper = 0, lower = 0, digits = 0;
  for (char c : run) {
    if (c == '.' || c == '_' || c == '-' || c == '~') return false;
    upper += is_upper(c), lower += is_lower(c), digits += is_digit(c);
  }
  if (upper == 0 || lower == 0) return false;
  size_t letters = upper + lower;
  return digits > 0 || (4 * upper >= letters && 4 * lower >= letters);
}

}  // namespace

bool looks_like_file_path(std::string_view value) {
  if (!has_path_prefix(value)) return false;
  for (char c : value) {
    if (!is_path_char(c)) return false;
  }
  if (looks_random(value, kMinRandomValueLength)) return false;
  while (!value.empty()) {
    size_t slash = value.find('/');
    if (looks_random(value.substr(0, slash), kMinRandomComponentLength)) return false;
    if (slash == std::string_view::npos) break;
    value.remove_prefix(slash + 1);
  }
  return true;
}

}  // namespace credtrace::secrets
