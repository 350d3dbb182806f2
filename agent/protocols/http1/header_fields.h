// Public API of the HTTP/1.x header-field helpers both directions' parsers share: token characters, header
// lines, list elements, Content-Length, chunk sizes, and appends that wipe what they reallocate.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/http1/request_parser.h"  // HttpHeader

namespace credtrace::protocols::http1 {

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

}  // namespace credtrace::protocols::http1
