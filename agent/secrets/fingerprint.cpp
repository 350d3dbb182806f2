// Credential fingerprints: fleet key loading/creation, HMAC-SHA256 via OpenSSL, redacted previews.
// SHA256_Init/Update/Final (below) are deprecated in OpenSSL 3 in favour of EVP, whose contexts allocate on every copy.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "secrets/fingerprint.h"

#include "common/digest.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>

namespace credtrace::secrets {
namespace {

constexpr size_t kMaxKeyFileBytes = 4096;
constexpr std::string_view kEllipsis = "\xE2\x80\xA6";

// A std::string holding secret material, wiped on scope exit.
class WipedString {
 public:
  WipedString() = default;
  WipedString(const WipedString&) = delete;
  WipedString& operator=(const WipedString&) = delete;
  ~WipedString() { OPENSSL_cleanse(text.data(), text.size()); }
  std::string text;
};

// Closes a file descriptor on scope exit.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

 private:
  int fd_;
};

void set_error(std::string* error, std::string message) {
  if (error != nullptr) *error = std::move(message);
}

std::string errno_text() { return std::strerror(errno); }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool from_hex(std::string_view hex, std::string& out) {
  if (hex.size() % 2 != 0) return false;
  out.resize(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int high = hex_value(hex[2 * i]);
    int low = hex_value(hex[2 * i + 1]);
    if (high < 0 || low < 0) return false;
    out[i] = static_cast<char>((high << 4) | low);
  }
  return true;
}

std::string_view trim_trailing_whitespace(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t written = ::write(fd, data.data(), data.size());
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return false;
    data.remove_prefix(static_cast<size_t>(written));
  }
  return true;
}

bool create_parent_directories(const std::string& path, std::string* error) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (parent.empty()) return true;
  std::filesystem::path partial;
  for (const std::filesystem::path& component : parent) {
    partial /= component;
    if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
      set_error(error, "cannot create key directory " + partial.string() + ": " + errno_text());
      return false;
    }
  }
  return true;
}

bool generate_key_hex(WipedString& hex, std::string* error) {
  std::array<unsigned char, Fingerprinter::kGeneratedKeyBytes> key{};
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
    set_error(error, "cannot generate a random fingerprint key");
    return false;
  }
  common::hex_encode_into(key.data(), key.size(), hex.text);
  hex.text.push_back('\n');
  OPENSSL_cleanse(key.data(), key.size());
  return true;
}

// Writes a new key to a private temporary file and links it into place: link() fails with EEXIST when
// another process won the race, so the published file is always complete and never overwritten.
bool create_key_file(const std::string& path, std::string* error) {
  if (!create_parent_directories(path, error)) return false;
  WipedString hex;
  if (!generate_key_hex(hex, error)) return false;
  std::array<unsigned char, 8> nonce{};
  std::string nonce_hex;
  if (RAND_bytes(nonce.data(), static_cast<int>(nonce.size())) == 1) common::hex_encode_into(nonce.data(), nonce.size(), nonce_hex);
  std::string temporary = path + ".tmp." + std::to_string(::getpid()) + "." + nonce_hex;
  FileDescriptor fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) {
    set_error(error, "cannot create key file " + path + ": " + errno_text());
    return false;
  }
  bool written = write_all(fd.get(), hex.text) && ::fsync(fd.get()) == 0;
  bool linked = written && (::link(temporary.c_str(), path.c_str()) == 0 || errno == EEXIST);
  std::string failure = errno_text();
  ::unlink(temporary.c_str());
  if (!linked) set_error(error, "cannot write key file " + path + ": " + failure);
  return linked;
}

bool check_key_file_mode(const std::string& path, int fd, std::string* error) {
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    set_error(error, "cannot stat key file " + path + ": " + errno_text());
    return false;
  }
  if (!S_ISREG(info.st_mode)) {
    set_error(error, "key file " + path + " is not a regular file");
    return false;
  }
  if ((info.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(info.st_mode & 07777));
    set_error(error, "key file " + path + " is accessible by group/other (mode " + mode +
                         "); refusing it. Run: chmod 600 " + path);
    return false;
  }
  return true;
}

bool read_key_file(const std::string& path, int fd, WipedString& contents, std::string* error) {
  contents.text.resize(kMaxKeyFileBytes + 1);
  size_t filled = 0;
  while (filled < contents.text.size()) {
    ssize_t got = ::read(fd, contents.text.data() + filled, contents.text.size() - filled);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      set_error(error, "cannot read key file " + path + ": " + errno_text());
      return false;
    }
    if (got == 0) break;
    filled += static_cast<size_t>(got);
  }
  if (filled > kMaxKeyFileBytes) {
    set_error(error, "key file " + path + " is too large to be a hex key");
    return false;
  }
  std::fill(contents.text.begin() + static_cast<std::ptrdiff_t>(filled), contents.text.end(), '\0');
  contents.text.resize(filled);
  return true;
}

std::optional<Fingerprinter> load_key_file(const std::string& path, int fd, std::string* error) {
  if (!check_key_file_mode(path, fd, error)) return std::nullopt;
  WipedString contents;
  if (!read_key_file(path, fd, contents, error)) return std::nullopt;
  WipedString key;
  if (!from_hex(trim_trailing_whitespace(contents.text), key.text)) {
    set_error(error, "key file " + path + " does not hold a hex-encoded key");
    return std::nullopt;
  }
  if (key.text.size() < Fingerprinter::kMinKeyBytes) {
    set_error(error, "key file " + path + " holds " + std::to_string(key.text.size()) + " key bytes; at least " +
                         std::to_string(Fingerprinter::kMinKeyBytes) + " are required");
    return std::nullopt;
  }
  return Fingerprinter::from_key(key.text, error);
}

int open_key_file(const std::string& path) { return ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC); }

char printable_or_question_mark(char c) { return (c >= 0x20 && c < 0x7F) ? c : '?'; }

void append_printable(std::string& out, std::string_view part) {
  for (char c : part) out.push_back(printable_or_question_mark(c));
}

}  // namespace

SecretBytes::SecretBytes(std::string_view bytes) : bytes_(bytes.begin(), bytes.end()) {}
SecretBytes::SecretBytes(const SecretBytes& other) : bytes_(other.bytes_) {}
SecretBytes::SecretBytes(SecretBytes&& other) noexcept : bytes_(std::move(other.bytes_)) { other.wipe(); }

SecretBytes& SecretBytes::operator=(const SecretBytes& other) {
  if (this != &other) {
    wipe();
    bytes_ = other.bytes_;
  }
  return *this;
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    wipe();
    bytes_ = std::move(other.bytes_);
    other.wipe();
  }
  return *this;
}

SecretBytes::~SecretBytes() { wipe(); }

void SecretBytes::wipe() noexcept {
  if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
  bytes_.clear();
}

// HMAC-SHA256 (RFC 2104) with the key's inner and outer pads absorbed once: a fingerprint copies two SHA-256 states
// (plain structs: OpenSSL 3's EVP contexts allocate on every copy, and its one-shot HMAC() fetches the algorithm and
// keys a MAC per call, ~3 us, a fifth of the agent's time per captured request once).
class Fingerprinter::KeyedHmac {
 public:
  static constexpr size_t kBlock = 64;
  static constexpr size_t kDigest = 32;
  ~KeyedHmac() {
    OPENSSL_cleanse(&inner_, sizeof(inner_));
    OPENSSL_cleanse(&outer_, sizeof(outer_));
  }

  // nullptr when OpenSSL cannot hash.
  static std::shared_ptr<const KeyedHmac> make(std::string_view key) {
    auto hmac = std::make_shared<KeyedHmac>();
    if (!hmac->absorb_pads(key)) return nullptr;
    return hmac;
  }

  // HMAC(key, message), or nullopt when OpenSSL fails.
  std::optional<std::array<unsigned char, kDigest>> digest(std::string_view message) const {
    SHA256_CTX ctx = inner_;
    std::array<unsigned char, kDigest> inner{};
    std::array<unsigned char, kDigest> out{};
    bool ok = SHA256_Update(&ctx, message.data(), message.size()) == 1 && SHA256_Final(inner.data(), &ctx) == 1;
    ctx = outer_;
    ok = ok && SHA256_Update(&ctx, inner.data(), inner.size()) == 1 && SHA256_Final(out.data(), &ctx) == 1;
    OPENSSL_cleanse(inner.data(), inner.size());
    OPENSSL_cleanse(&ctx, sizeof(ctx));
    if (!ok) return std::nullopt;
    return out;
  }

 private:
  // K0 = key (hashed when longer than a block) zero-padded; inner absorbs K0 ^ 0x36, outer K0 ^ 0x5c.
  bool absorb_pads(std::string_view key) {
    std::array<unsigned char, kBlock> k0{};
    bool ok = true;
    if (key.size() > kBlock) {
      ok = EVP_Digest(key.data(), key.size(), k0.data(), nullptr, EVP_sha256(), nullptr) == 1;
    } else {
      std::memcpy(k0.data(), key.data(), key.size());
    }
    std::array<unsigned char, kBlock> pad{};
    for (size_t i = 0; ok && i < kBlock; ++i) pad[i] = k0[i] ^ 0x36;
    ok = ok && SHA256_Init(&inner_) == 1 && SHA256_Update(&inner_, pad.data(), pad.size()) == 1;
    for (size_t i = 0; ok && i < kBlock; ++i) pad[i] = k0[i] ^ 0x5c;
    ok = ok && SHA256_Init(&outer_) == 1 && SHA256_Update(&outer_, pad.data(), pad.size()) == 1;
    OPENSSL_cleanse(k0.data(), k0.size());
    OPENSSL_cleanse(pad.data(), pad.size());
    return ok;
  }

  SHA256_CTX inner_{};
  SHA256_CTX outer_{};
};

std::optional<Fingerprinter> Fingerprinter::from_key(std::string_view key_material, std::string* error) {
  if (key_material.size() < kMinKeyBytes) {
    set_error(error, "fingerprint key has " + std::to_string(key_material.size()) + " bytes; at least " +
                         std::to_string(kMinKeyBytes) + " are required");
    return std::nullopt;
  }
  std::shared_ptr<const KeyedHmac> hmac = KeyedHmac::make(key_material);
  if (!hmac) {
    set_error(error, "OpenSSL could not key HMAC-SHA256 with the fingerprint key");
    return std::nullopt;
  }
  return Fingerprinter(std::move(hmac));
}

std::optional<Fingerprinter> Fingerprinter::from_key_file(const std::string& path, std::string* error) {
  FileDescriptor fd(open_key_file(path));
  if (!fd.valid() && errno == ENOENT) {
    if (!create_key_file(path, error)) return std::nullopt;
    FileDescriptor created(open_key_file(path));
    if (!created.valid()) {
      set_error(error, "cannot open key file " + path + ": " + errno_text());
      return std::nullopt;
    }
    return load_key_file(path, created.get(), error);
  }
  if (!fd.valid()) {
    set_error(error, "cannot open key file " + path + ": " + errno_text());
    return std::nullopt;
  }
  return load_key_file(path, fd.get(), error);
}

std::optional<Fingerprinter> Fingerprinter::from_existing_key_file(const std::string& path, std::string* error) {
  FileDescriptor fd(open_key_file(path));
  if (!fd.valid()) {
    set_error(error, "cannot open key file " + path + ": " + errno_text());
    return std::nullopt;
  }
  return load_key_file(path, fd.get(), error);
}

std::string Fingerprinter::fingerprint(std::string_view secret) const {
  std::string hex;
  fingerprint_into(secret, hex);
  return hex;
}

void Fingerprinter::fingerprint_into(std::string_view secret, std::string& out) const {
  out.clear();
  std::optional<std::array<unsigned char, KeyedHmac::kDigest>> digest = hmac_->digest(secret);
  if (!digest) return;
  common::hex_encode_into(digest->data(), digest->size(), out);
  OPENSSL_cleanse(digest->data(), digest->size());
}

std::string detail::hmac_sha256_hex(std::string_view key, std::string_view message) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_size = 0;
  static const unsigned char kEmpty = 0;
  const unsigned char* data =
      message.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(message.data());
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data, message.size(), digest.data(),
           &digest_size) == nullptr) {
    return {};
  }
  std::string hex;
  common::hex_encode_into(digest.data(), digest_size, hex);
  OPENSSL_cleanse(digest.data(), digest.size());
  return hex;
}

std::optional<FingerprintBytes> fingerprint_bytes(std::string_view hex) {
  auto digit = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; };
  FingerprintBytes bytes{};
  if (hex.size() != 2 * bytes.size()) return std::nullopt;
  for (size_t i = 0; i < bytes.size(); ++i) {
    const int high = digit(hex[2 * i]), low = digit(hex[2 * i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    bytes[i] = static_cast<uint8_t>(high << 4 | low);
  }
  return bytes;
}

KeptFingerprint::KeptFingerprint(std::string_view fingerprint) {
  if (auto bytes = fingerprint_bytes(fingerprint)) value_ = *bytes;
  else value_ = std::string(fingerprint);
}

bool KeptFingerprint::empty() const {
  const auto* text = std::get_if<std::string>(&value_);
  return text && text->empty();
}

std::string KeptFingerprint::text() const {
  if (const auto* text = std::get_if<std::string>(&value_)) return *text;
  const FingerprintBytes& bytes = std::get<FingerprintBytes>(value_);
  return common::hex_encode(bytes.data(), bytes.size());
}

std::string redacted_preview(std::string_view value, size_t prefix_len) {
  constexpr size_t kLongValue = 16;
  constexpr size_t kTail = 4;
  size_t shown_prefix = (prefix_len <= value.size() / 2) ? prefix_len : 0;
  std::string preview;
  append_printable(preview, value.substr(0, shown_prefix));
  preview.append(kEllipsis);
  if (value.size() >= kLongValue) append_printable(preview, value.substr(value.size() - kTail));
  return preview;
}

}  // namespace credtrace::secrets
