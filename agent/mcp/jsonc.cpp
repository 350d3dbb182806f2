// JSONC stripping: comments and trailing commas outside strings are blanked out.
#include "mcp/jsonc.h"

namespace credtrace::mcp::detail {
namespace {

// Index just past the string literal that starts at text[i] (a quote); text.size() if unterminated.
size_t skip_string(std::string_view text, size_t i) {
  for (++i; i < text.size(); ++i) {
    if (text[i] == '\\') {
      ++i;
    } else if (text[i] == '"') {
      return i + 1;
    }
  }
  return text.size();
}

// Blanks the comment starting at out[i] ('/' followed by '/' or '*'); returns the index after it.
size_t blank_comment(std::string& out, size_t i) {
  const bool line = out[i + 1] == '/';
  size_t end = i + 2;
  if (line) {
    while (end < out.size() && out[end] != '\n') ++end;
  } else {
    while (end + 1 < out.size() && !(out[end] == '*' && out[end + 1] == '/')) ++end;
    end = end + 1 < out.size() ? end + 2 : out.size();
  }
  for (size_t k = i; k < end; ++k) {
    if (out[k] != '\n') out[k] = ' ';
  }
  return end;
}

std::string remove_comments(std::string_view text) {
  std::string out(text);
  size_t i = 0;
  while (i < out.size()) {
    if (out[i] == '"') {
      i = skip_string(out, i);
    } else if (out[i] == '/' && i + 1 < out.size() && (out[i + 1] == '/' || out[i + 1] == '*')) {
      i = blank_comment(out, i);
    } else {
      ++i;
    }
  }
  return out;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// True when the next non-space character after i closes an object or array.
bool closes_next(std::string_view text, size_t i) {
  for (++i; i < text.size(); ++i) {
    if (!is_space(text[i])) return text[i] == '}' || text[i] == ']';
  }
  return false;
}

void remove_trailing_commas(std::string& text) {
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '"') {
      i = skip_string(text, i);
      continue;
    }
    if (text[i] == ',' && closes_next(text, i)) text[i] = ' ';
    ++i;
  }
}

}  // namespace

std::string strip_jsonc(std::string_view text) {
  std::string out = remove_comments(text);
  remove_trailing_commas(out);
  return out;
}

}  // namespace credtrace::mcp::detail
