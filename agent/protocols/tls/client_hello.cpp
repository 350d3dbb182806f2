// ClientHello → server_name (RFC 8446 4.1.2, RFC 6066 3): record header, handshake header, the fixed fields skipped by
// their lengths, then the extensions until server_name.
#include "protocols/tls/client_hello.h"

#include <cstddef>
#include <cstdint>

namespace credtrace::protocols {
namespace {

// A cursor over the bytes that refuses to read past their end.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  bool u8(size_t& out) { return number(1, out); }
  bool u16(size_t& out) { return number(2, out); }
  bool u24(size_t& out) { return number(3, out); }
  bool skip(size_t n) {
    if (n > bytes_.size() - at_) return false;
    at_ += n;
    return true;
  }
  // The next n bytes as their own reader (and skips them here).
  bool sub(size_t n, Reader& out) {
    if (n > bytes_.size() - at_) return false;
    out = Reader(bytes_.substr(at_, n));
    at_ += n;
    return true;
  }
  std::string_view rest() const { return bytes_.substr(at_); }

 private:
  bool number(size_t width, size_t& out) {
    if (width > bytes_.size() - at_) return false;
    out = 0;
    for (size_t i = 0; i < width; ++i) out = (out << 8) | static_cast<uint8_t>(bytes_[at_ + i]);
    at_ += width;
    return true;
  }
  std::string_view bytes_;
  size_t at_ = 0;
};

constexpr size_t kHandshakeRecord = 22, kClientHello = 1, kServerNameExtension = 0, kHostName = 0;

bool plausible_name(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  for (char c : name)
    if (c < '!' || c > '~') return false;
  return true;
}

// server_name's extension data: a list of (type, name); the host_name entry.
std::optional<std::string> host_name_of(Reader extension) {
  size_t list_length = 0;
  Reader list("");
  if (!extension.u16(list_length) || !extension.sub(list_length, list)) return std::nullopt;
  size_t type = 0, length = 0;
  while (list.u8(type) && list.u16(length)) {
    Reader name("");
    if (!list.sub(length, name)) return std::nullopt;
    if (type == kHostName && plausible_name(name.rest())) return std::string(name.rest());
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> client_hello_server_name(std::string_view bytes) {
  Reader record(bytes);
  size_t content_type = 0, version_major = 0, record_length = 0;
  if (!record.u8(content_type) || content_type != kHandshakeRecord) return std::nullopt;
  if (!record.u8(version_major) || version_major != 3 || !record.skip(1) || !record.u16(record_length))
    return std::nullopt;
  Reader handshake("");
  if (!record.sub(record_length, handshake)) return std::nullopt;  // the hello is cut: no guess from a part
  size_t message_type = 0, message_length = 0;
  if (!handshake.u8(message_type) || message_type != kClientHello || !handshake.u24(message_length)) return std::nullopt;
  Reader hello("");
  if (!handshake.sub(message_length, hello)) return std::nullopt;
  size_t session_id = 0, cipher_suites = 0, compression = 0, extensions_length = 0;
  if (!hello.skip(2 + 32) || !hello.u8(session_id) || !hello.skip(session_id) || !hello.u16(cipher_suites) ||
      !hello.skip(cipher_suites) || !hello.u8(compression) || !hello.skip(compression))
    return std::nullopt;
  Reader extensions("");
  if (!hello.u16(extensions_length) || !hello.sub(extensions_length, extensions)) return std::nullopt;
  size_t type = 0, length = 0;
  while (extensions.u16(type) && extensions.u16(length)) {
    Reader data("");
    if (!extensions.sub(length, data)) return std::nullopt;
    if (type == kServerNameExtension) return host_name_of(data);
  }
  return std::nullopt;
}

}  // namespace credtrace::protocols
