// The one place a found credential becomes its exported description: type, keyed fingerprint, redacted preview
// and JWT facts. Sensors call it where they find a secret; only the description travels on.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "credtrace/v1/events.pb.h"
#include "secrets/fingerprint.h"

namespace credtrace::events {

// prefix_len: how much of the value's known, non-secret prefix the preview may show (ghp_, sk-…).
credtrace::v1::Credential describe_credential(const secrets::Fingerprinter& fingerprinter, std::string_view raw,
                                              std::string_view type, size_t prefix_len);

// A credential's description as kept long per process (the env secrets of every watched process): the fingerprint's
// 32 bytes instead of its 64 hex characters, and plain strings (short ones inline) instead of protobuf strings, each of
// which is a heap object of its own. The same description comes back out (to_proto); a fingerprint that is not 64
// lowercase hex characters is kept as it is.
class KeptCredential {
 public:
  KeptCredential() = default;
  explicit KeptCredential(const credtrace::v1::Credential& credential);
  credtrace::v1::Credential to_proto() const;
  bool has_fingerprint() const { return !fingerprint_.empty(); }

 private:
  std::string type_;
  std::string preview_;
  secrets::KeptFingerprint fingerprint_;
  std::shared_ptr<const credtrace::v1::Jwt> jwt_;  // a JWT's facts (rare), shared by copies
};

// The descriptions of the credentials described lately, by fingerprint: a value used again (the same token on every
// request) is described without building its type, preview and JWT facts again, and without allocating. The same
// value always yields the same fingerprint, preview and claims; an entry whose type or prefix differs is rebuilt.
// Bounded: emptied when full (counted).
class CredentialDescriptions {
 public:
  static constexpr size_t kMaxEntries = 512;

  explicit CredentialDescriptions(const secrets::Fingerprinter& fingerprinter) : fingerprinter_(fingerprinter) {}
  // The description of raw: valid until the next call.
  const credtrace::v1::Credential& describe(std::string_view raw, std::string_view type, size_t prefix_len);
  uint64_t emptied() const { return emptied_; }
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    credtrace::v1::Credential credential;
    size_t prefix_len = 0;
  };
  const secrets::Fingerprinter& fingerprinter_;
  std::string fingerprint_;  // the last value's, reused
  std::unordered_map<std::string, Entry> entries_;
  uint64_t emptied_ = 0;
};

}  // namespace credtrace::events
