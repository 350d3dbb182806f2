// Public API of the HTTP/1.x header-field helpers both directions' parsers share: token characters, header
// lines, list elements, Content-Length, chunked framing lines, line search, and buffer edits that wipe what they free.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/http1/request_parser.h"  // HttpHeader
#include "protocols/text.h"

namespace credtrace::protocols::http1 {

// Header value buffers kept per thread between messages, so that a value longer than the string's inline capacity does
// not cost an allocation per message: cleanse() gives back a handed-over message's values, wiped first (their heap
// buffers, never their bytes), and append_header takes one for each value that needs the heap. At most 32 buffers of
// at most 1 KiB each are kept; others are freed.
void keep_value_storage(std::string& wiped_value);
// The thread's kept buffers (tests look into their storage).
const std::vector<std::string>& kept_value_storage();

// Appends a field (HTTP/1.1 header line or HTTP/2 field): the name lower-cased, the value trimmed of optional
// whitespace, in a kept buffer when it needs the heap.
void append_header(std::vector<HttpHeader>& headers, std::string_view name, std::string_view value);

// Calls visit(element) for every comma-separated element of every header `name`, trimmed, without allocating;
// visit returns false to stop.
template <typename Visit>
void for_each_header_element(const std::vector<HttpHeader>& headers, std::string_view name, Visit visit) {
  for (const HttpHeader& header : headers) {
    if (header.name != name) continue;
    std::string_view value = header.value;
    size_t start = 0;
    while (start <= value.size()) {
      const size_t comma = value.find(',', start);
      const size_t end = comma == std::string_view::npos ? value.size() : comma;
      if (!visit(protocols::detail::trim_ows(value.substr(start, end - start)))) return;
      start = end + 1;
    }
  }
}

// The last element of the headers `name` (the coding applied last, for Transfer-Encoding), or nullopt without any.
inline std::optional<std::string_view> last_header_element(const std::vector<HttpHeader>& headers,
                                                           std::string_view name) {
  std::optional<std::string_view> last;
  for_each_header_element(headers, name, [&](std::string_view element) {
    last = element;
    return true;
  });
  return last;
}

bool is_digit(char c);
// RFC 9110 tchar.
bool is_token_char(char c);
// Appends data; when target must grow, its old storage is wiped before it is freed (header values hold secrets).
void append_wiping(std::string& target, std::string_view data);
// The line without a trailing '\r'.
std::string_view without_cr(std::string_view line);
// Adds one header line (name lower-cased, value trimmed; obsolete folding joins the previous value). nullptr on
// success, else a fixed description of what is wrong. `line` has no line end and is not empty.
const char* parse_header_line(std::string_view line, std::vector<HttpHeader>& headers);
// Every comma-separated element of every header `name`, trimmed.
std::vector<std::string_view> header_elements(const std::vector<HttpHeader>& headers, std::string_view name);
// Up to 18 decimal digits; nullopt otherwise.
std::optional<uint64_t> parse_decimal(std::string_view digits);
// Up to 15 hex digits (chunk sizes); nullopt otherwise.
std::optional<uint64_t> parse_hex(std::string_view digits);
// Identical Content-Length values (repeated headers or "5, 5") give the length; differing or invalid: nullopt.
std::optional<uint64_t> content_length(const std::vector<HttpHeader>& headers);

// The next '\n' in window at or after `scan` (how far earlier calls on the same bytes already searched), or npos;
// scan is advanced to it (or to the window's end).
size_t find_line_end(std::string_view window, size_t& scan);
// Drops the first `consumed` bytes of a parser's buffer, wiping the bytes it leaves behind; a buffer left empty gives
// back storage over release_capacity.
void drop_consumed(std::string& buffer, size_t consumed, size_t release_capacity);

// One framing line of the chunked transfer coding (RFC 9112 §7.1) at the start of the unconsumed data.
struct ChunkLine {
  size_t length = 0;            // bytes of the line, line end included; 0 when more data is needed or on error
  uint64_t chunk_size = 0;      // chunk-size lines: the size (0: the last chunk, trailers follow)
  const char* error = nullptr;  // the framing is broken: a fixed description (never input bytes)
};
// The chunk-size line ("1a;name=value\r\n", extensions ignored) with at most max_line bytes before its '\n'.
// `scan` is how far earlier calls on the same data already searched for the '\n'; it is advanced.
ChunkLine chunk_size_line(std::string_view data, size_t max_line, size_t& scan);
// The line end ("\r\n" or "\n") that must follow the data of a chunk.
ChunkLine chunk_data_end(std::string_view data);

}  // namespace credtrace::protocols::http1
