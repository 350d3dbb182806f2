// HTTP/1.x header-field helpers shared by the request and response parsers, chunked framing lines included.
#include "protocols/http1/header_fields.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "protocols/text.h"

namespace credtrace::protocols::http1 {

using detail::trim_ows;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

constexpr std::array<bool, 256> make_token_chars() {
  std::array<bool, 256> token{};
  for (int c = 'a'; c <= 'z'; ++c) token[static_cast<size_t>(c)] = true;
  for (int c = 'A'; c <= 'Z'; ++c) token[static_cast<size_t>(c)] = true;
  for (int c = '0'; c <= '9'; ++c) token[static_cast<size_t>(c)] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) token[static_cast<unsigned char>(c)] = true;
  return token;
}

constexpr std::array<bool, 256> kTokenChars = make_token_chars();

bool is_token_char(char c) { return kTokenChars[static_cast<unsigned char>(c)]; }

// Appends data; when target must grow, its old storage is wiped before it is freed.
void append_wiping(std::string& target, std::string_view data) {
  if (data.empty()) return;
  if (target.size() + data.size() > target.capacity()) {
    std::string grown;
    grown.reserve(std::max(target.capacity() * 2, target.size() + data.size()));
    grown.append(target);
    detail::wipe(target);
    target.swap(grown);
  }
  target.append(data);
}

std::string_view without_cr(std::string_view line) {
  if (line.ends_with('\r')) line.remove_suffix(1);
  return line;
}

// Room for the fields of most header blocks (API clients send 5-12).
constexpr size_t kTypicalHeaderCount = 16;

constexpr size_t kKeptValueStrings = 32;
constexpr size_t kKeptValueCapacity = 1024;

std::vector<std::string>& kept_values() {
  thread_local std::vector<std::string> kept;
  return kept;
}

const std::vector<std::string>& kept_value_storage() { return kept_values(); }

void keep_value_storage(std::string& wiped_value) {
  std::vector<std::string>& kept = kept_values();
  const size_t capacity = wiped_value.capacity();
  if (!wiped_value.empty() || capacity <= std::string().capacity() || capacity > kKeptValueCapacity ||
      kept.size() >= kKeptValueStrings)
    return;
  if (kept.capacity() == 0) kept.reserve(kKeptValueStrings);
  kept.push_back(std::move(wiped_value));
}

void append_header(std::vector<HttpHeader>& headers, std::string_view name, std::string_view value) {
  if (headers.capacity() == 0) headers.reserve(kTypicalHeaderCount);  // one allocation, not one per doubling
  HttpHeader& header = headers.emplace_back();  // filled in place: no temporary strings moved in
  header.name.assign(name);
  detail::lower_in_place(header.name);
  value = trim_ows(value);
  std::vector<std::string>& kept = kept_values();
  if (value.size() > header.value.capacity() && !kept.empty()) {
    header.value.swap(kept.back());
    kept.pop_back();
  }
  header.value.assign(value);
}

// nullptr on success, else a fixed description of what is wrong. `line` has no line end and is not empty.
const char* parse_header_line(std::string_view line, std::vector<HttpHeader>& headers) {
  if (line.front() == ' ' || line.front() == '\t') {  // obsolete line folding
    if (headers.empty()) return "header block starts with a continuation line";
    append_wiping(headers.back().value, " ");
    append_wiping(headers.back().value, trim_ows(line));
    return nullptr;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return "header line without a name";
  std::string_view name = line.substr(0, colon);
  if (!std::all_of(name.begin(), name.end(), is_token_char)) return "invalid header name";
  append_header(headers, name, line.substr(colon + 1));
  return nullptr;
}

// Every comma-separated element of every header `name`, trimmed.
std::vector<std::string_view> header_elements(const std::vector<HttpHeader>& headers, std::string_view name) {
  std::vector<std::string_view> elements;
  for_each_header_element(headers, name, [&](std::string_view element) {
    elements.push_back(element);
    return true;
  });
  return elements;
}

std::optional<uint64_t> parse_decimal(std::string_view digits) {
  if (digits.empty() || digits.size() > 18 || !std::all_of(digits.begin(), digits.end(), is_digit)) return std::nullopt;
  uint64_t value = 0;
  for (char c : digits) value = value * 10 + static_cast<uint64_t>(c - '0');
  return value;
}

std::optional<uint64_t> parse_hex(std::string_view digits) {
  if (digits.empty() || digits.size() > 15) return std::nullopt;
  uint64_t value = 0;
  for (char c : digits) {
    char lower = detail::ascii_lower(c);
    int nibble = is_digit(c) ? c - '0' : (lower >= 'a' && lower <= 'f') ? lower - 'a' + 10 : -1;
    if (nibble < 0) return std::nullopt;
    value = value * 16 + static_cast<uint64_t>(nibble);
  }
  return value;
}

// Identical Content-Length values (repeated headers or "5, 5") give the length; differing or invalid: nullopt.
std::optional<uint64_t> content_length(const std::vector<HttpHeader>& headers) {
  std::optional<uint64_t> length;
  bool valid = true;
  for_each_header_element(headers, "content-length", [&](std::string_view element) {
    std::optional<uint64_t> value = parse_decimal(element);
    valid = value && (!length || *length == *value);
    length = value;
    return valid;
  });
  return valid ? length : std::nullopt;
}

size_t find_line_end(std::string_view window, size_t& scan) {
  size_t nl = window.find('\n', std::min(scan, window.size()));
  scan = nl == std::string_view::npos ? window.size() : nl;
  return nl;
}

void drop_consumed(std::string& buffer, size_t consumed, size_t release_capacity) {
  size_t keep = buffer.size() - consumed;
  std::memmove(buffer.data(), buffer.data() + consumed, keep);
  OPENSSL_cleanse(buffer.data() + keep, consumed);
  buffer.resize(keep);
  if (keep == 0 && buffer.capacity() > release_capacity) std::string().swap(buffer);
}

ChunkLine chunk_size_line(std::string_view data, size_t max_line, size_t& scan) {
  size_t nl = find_line_end(data.substr(0, max_line + 1), scan);
  if (nl == std::string_view::npos) {
    if (data.size() <= max_line) return {};
    return {.error = "chunk size line too long"};
  }
  std::string_view line = without_cr(data.substr(0, nl));
  std::optional<uint64_t> size = parse_hex(trim_ows(line.substr(0, line.find(';'))));  // extensions ignored
  if (!size) return {.error = "invalid chunk size"};
  return {.length = nl + 1, .chunk_size = *size};
}

ChunkLine chunk_data_end(std::string_view data) {
  size_t needed = (!data.empty() && data.front() == '\r') ? 2 : 1;
  if (data.size() < needed) return {};
  if (data[needed - 1] != '\n') return {.error = "chunk data not followed by a line end"};
  return {.length = needed};
}

}  // namespace credtrace::protocols::http1
