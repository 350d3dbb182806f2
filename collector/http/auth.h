// Agent and reader authentication: bearer-token sets and client certificates (mTLS).
// Token files are read once and only SHA-256 hashes kept, compared in constant time; client certificates are
// verified with GnuTLS against the --client-ca bundle.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

struct gnutls_session_int;  // gnutls_session_t, without pulling <gnutls/gnutls.h> into every includer

namespace credtrace::collector {

class TokenSet {
 public:
  // One token per line; blank lines and lines starting with '#' are ignored; surrounding spaces are trimmed.
  static Status load(const std::string& path, TokenSet& out);
  static TokenSet from_tokens(const std::vector<std::string>& tokens);

  // True when `authorization` is "Bearer <token>" for a token of the set.
  bool authorizes(std::string_view authorization) const;
  bool contains(std::string_view token) const;
  size_t size() const { return hashes_.size(); }

 private:
  using Hash = std::array<uint8_t, 32>;
  static Hash hash(std::string_view token);
  std::vector<Hash> hashes_;
};

// What a TLS connection established about its client's certificate. Decided once per connection; only ingest uses
// it (a certificate authenticates an agent, never a reader).
struct ClientCertificate {
  enum class State { kNone, kVerified, kRejected };
  State state = State::kNone;
  std::string subject;  // kVerified/kRejected: the leaf's subject DN (RFC 4514), for logs
  std::string sha256;   // kVerified/kRejected: SHA-256 of the leaf (DER), lowercase hex
  std::string reason;   // kRejected: why it is not trusted ("expired", "issuer unknown (...)", ...)

  bool verified() const { return state == State::kVerified; }
};

// Checks a --client-ca bundle: PEM X.509 certificates, at least one; `count` is how many.
Status check_client_ca(const std::string& pem, size_t& count);

// Verifies the certificate chain the peer of `session` presented against the session's trust list (the --client-ca
// bundle): signatures up to a trusted CA, every certificate within its validity period, and (when the leaf has an
// extended key usage) TLS client authentication among its purposes. kNone when the peer sent no certificate.
ClientCertificate verify_client_certificate(gnutls_session_int* session);

}  // namespace credtrace::collector
