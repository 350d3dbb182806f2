// Public API of credential fingerprints (HMAC-SHA256 under the fleet key) and redacted previews.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace credtrace::secrets {

// Key bytes that are wiped (OPENSSL_cleanse) whenever they are destroyed or overwritten.
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(std::string_view bytes);
  SecretBytes(const SecretBytes& other);
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(const SecretBytes& other);
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  ~SecretBytes();

  std::string_view view() const { return {bytes_.data(), bytes_.size()}; }
  size_t size() const { return bytes_.size(); }

 private:
  void wipe() noexcept;
  std::vector<char> bytes_;
};

class Fingerprinter {
 public:
  static constexpr size_t kMinKeyBytes = 16;
  static constexpr size_t kGeneratedKeyBytes = 32;

  // Raw key bytes, at least kMinKeyBytes. On failure returns nullopt and sets *error (if non-null).
  static std::optional<Fingerprinter> from_key(std::string_view key_material, std::string* error);

  // Reads the key file (hex text, trailing newline allowed). If absent, creates parent directories (0700)
  // and the file with 32 random bytes hex-encoded, mode 0600, published atomically and exclusively (a
  // racing creator's key wins and is read back). Refuses a key file accessible by group/other, not a
  // regular file, not hex, or shorter than 16 bytes, with a message naming the path.
  static std::optional<Fingerprinter> from_key_file(const std::string& path, std::string* error);
  // The same checks on a key file that must exist already (nothing is created): for --check-config.
  static std::optional<Fingerprinter> from_existing_key_file(const std::string& path, std::string* error);

  // HMAC-SHA256(key, secret) as 64 lowercase hex characters ("" only if OpenSSL fails).
  std::string fingerprint(std::string_view secret) const;
  // The same into out (its storage reused).
  void fingerprint_into(std::string_view secret, std::string& out) const;

 private:
  class KeyedHmac;  // the key's HMAC pads, absorbed once
  explicit Fingerprinter(std::shared_ptr<const KeyedHmac> hmac) : hmac_(std::move(hmac)) {}
  std::shared_ptr<const KeyedHmac> hmac_;
};

// A fingerprint's 32 bytes, for keeping it compactly; nullopt when the text is not 64 lowercase hex characters.
using FingerprintBytes = std::array<uint8_t, 32>;
std::optional<FingerprintBytes> fingerprint_bytes(std::string_view hex);

// A fingerprint as the tables kept for every watched server's secrets hold it (40 bytes, no heap): its 32 bytes when
// it is 64 lowercase hex characters, as a Fingerprinter's always are; any other text (an empty one when OpenSSL
// failed, one from elsewhere) as it is. Ordered and compared by value; text() gives back what it was made from.
class KeptFingerprint {
 public:
  KeptFingerprint() : value_(std::string()) {}
  explicit KeptFingerprint(std::string_view fingerprint);
  bool empty() const;
  std::string text() const;
  auto operator<=>(const KeptFingerprint&) const = default;
  bool operator==(const KeptFingerprint&) const = default;

 private:
  std::variant<FingerprintBytes, std::string> value_;
};

// Known prefix + "…" + last 4 characters when value.size() >= 16; shorter values give the prefix (only if
// prefix_len <= size/2) + "…" with no tail. The prefix is also dropped for long values when it exceeds
// size/2. Never reveals more than prefix + 4 characters; bytes outside printable ASCII become '?'.
std::string redacted_preview(std::string_view value, size_t prefix_len);

namespace detail {
// HMAC-SHA256 in lowercase hex with any key length (for published test vectors).
std::string hmac_sha256_hex(std::string_view key, std::string_view message);
}  // namespace detail

}  // namespace credtrace::secrets
