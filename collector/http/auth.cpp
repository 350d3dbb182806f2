// Agent and reader authentication: bearer-token sets and client certificates (mTLS).
// Token files are read once and only SHA-256 hashes kept, compared in constant time; client certificates are
// verified with GnuTLS against the --client-ca bundle.
#include "http/auth.h"

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <sys/stat.h>

#include <fstream>
#include <memory>
#include <utility>
#include <vector>

#include "logging/log.h"

namespace credtrace::collector {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

void warn_if_readable_by_others(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 0004))
    log::warn("token file " + path + " is readable by every user; chmod o-r it");
}

struct CredentialsFree {
  void operator()(gnutls_certificate_credentials_st* credentials) const {
    gnutls_certificate_free_credentials(credentials);
  }
};
struct CrtDeinit {
  void operator()(gnutls_x509_crt_int* crt) const { gnutls_x509_crt_deinit(crt); }
};
struct GnutlsFree {
  void operator()(unsigned char* data) const { gnutls_free(data); }
};
using GnutlsBuffer = std::unique_ptr<unsigned char, GnutlsFree>;

std::string hex(const unsigned char* data, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < size; ++i) out.append({kDigits[data[i] >> 4], kDigits[data[i] & 15]});
  return out;
}

// A DN for log lines and error replies: control characters shown as '?', at most 256 bytes.
std::string printable(std::string_view text) {
  std::string out(text.substr(0, 256));
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return out;
}

// Subject DN and SHA-256 of the leaf certificate (DER), for logs.
void describe_leaf(const gnutls_datum_t& der, ClientCertificate& out) {
  unsigned char digest[32];
  size_t digest_size = sizeof digest;
  if (gnutls_fingerprint(GNUTLS_DIG_SHA256, &der, digest, &digest_size) == GNUTLS_E_SUCCESS)
    out.sha256 = hex(digest, digest_size);
  gnutls_x509_crt_t raw = nullptr;
  if (gnutls_x509_crt_init(&raw) != GNUTLS_E_SUCCESS) return;
  std::unique_ptr<gnutls_x509_crt_int, CrtDeinit> crt(raw);
  gnutls_datum_t dn{};
  if (gnutls_x509_crt_import(crt.get(), &der, GNUTLS_X509_FMT_DER) != GNUTLS_E_SUCCESS ||
      gnutls_x509_crt_get_dn3(crt.get(), &dn, 0) != GNUTLS_E_SUCCESS)
    return;
  GnutlsBuffer owned(dn.data);
  out.subject = printable(std::string_view(reinterpret_cast<const char*>(dn.data), dn.size));
}

// Why a chain did not verify, from GnuTLS's status bits (the common ones worded for operators).
std::string describe_status(unsigned int status) {
  static const std::pair<unsigned int, const char*> kReasons[] = {
      {GNUTLS_CERT_EXPIRED, "expired"},
      {GNUTLS_CERT_NOT_ACTIVATED, "not yet valid"},
      {GNUTLS_CERT_SIGNER_NOT_FOUND, "issuer unknown (not signed by a --client-ca certificate)"},
      {GNUTLS_CERT_SIGNER_NOT_CA, "issuer is not a CA"},
      {GNUTLS_CERT_SIGNATURE_FAILURE, "bad signature"},
      {GNUTLS_CERT_INSECURE_ALGORITHM, "insecure signature algorithm"},
      {GNUTLS_CERT_REVOKED, "revoked"},
      {GNUTLS_CERT_PURPOSE_MISMATCH, "not issued for TLS client authentication (extended key usage)"},
      {GNUTLS_CERT_SIGNER_CONSTRAINTS_FAILURE, "issuer constraints violated"},
  };
  std::string out;
  for (const auto& [bit, text] : kReasons)
    if (status & bit) out.append(out.empty() ? "" : ", ").append(text);
  if (!out.empty()) return out;
  gnutls_datum_t printed{};
  if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &printed, 0) != GNUTLS_E_SUCCESS)
    return "verification status " + std::to_string(status);
  GnutlsBuffer owned(printed.data);
  return printable(std::string_view(reinterpret_cast<const char*>(printed.data), printed.size));
}

}  // namespace

Status check_client_ca(const std::string& pem, size_t& count) {
  gnutls_certificate_credentials_t raw = nullptr;
  if (gnutls_certificate_allocate_credentials(&raw) != GNUTLS_E_SUCCESS)
    return Status::error("cannot allocate TLS credentials");
  std::unique_ptr<gnutls_certificate_credentials_st, CredentialsFree> credentials(raw);
  // The call libmicrohttpd makes with MHD_OPTION_HTTPS_MEM_TRUST, so what passes here is what it will trust.
  gnutls_datum_t data{reinterpret_cast<unsigned char*>(const_cast<char*>(pem.data())),
                      static_cast<unsigned int>(pem.size())};
  int loaded = gnutls_certificate_set_x509_trust_mem(credentials.get(), &data, GNUTLS_X509_FMT_PEM);
  if (loaded < 0) return Status::error(std::string("not a PEM certificate bundle: ") + gnutls_strerror(loaded));
  if (loaded == 0) return Status::error("holds no PEM certificate");
  count = static_cast<size_t>(loaded);
  return {};
}

ClientCertificate verify_client_certificate(gnutls_session_int* session) {
  ClientCertificate out;
  unsigned int count = 0;
  const gnutls_datum_t* chain = gnutls_certificate_get_peers(session, &count);
  if (chain == nullptr || count == 0) return out;
  out.state = ClientCertificate::State::kRejected;
  if (gnutls_certificate_type_get2(session, GNUTLS_CTYPE_PEERS) != GNUTLS_CRT_X509) {
    out.reason = "not an X.509 certificate";
    return out;
  }
  describe_leaf(chain[0], out);
  // Trust list: the session's credentials, i.e. the --client-ca bundle. Time checks are on (GnuTLS's default).
  gnutls_typed_vdata_st purpose{};
  purpose.type = GNUTLS_DT_KEY_PURPOSE_OID;
  purpose.data = reinterpret_cast<unsigned char*>(const_cast<char*>(GNUTLS_KP_TLS_WWW_CLIENT));
  unsigned int status = 0;
  if (int rc = gnutls_certificate_verify_peers(session, &purpose, 1, &status); rc != GNUTLS_E_SUCCESS) {
    out.reason = std::string("verification failed: ") + gnutls_strerror(rc);
    return out;
  }
  if (status != 0) {
    out.reason = describe_status(status);
    return out;
  }
  out.state = ClientCertificate::State::kVerified;
  return out;
}

TokenSet::Hash TokenSet::hash(std::string_view token) {
  Hash out{};
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), out.data());
  return out;
}

Status TokenSet::load(const std::string& path, TokenSet& out) {
  std::ifstream in(path);
  if (!in) return Status::error("cannot read token file " + path);
  warn_if_readable_by_others(path);
  std::vector<std::string> tokens;
  std::string line;
  while (std::getline(in, line)) {
    std::string_view token = trim(line);
    if (token.empty() || token.front() == '#') continue;
    tokens.emplace_back(token);
    std::fill(line.begin(), line.end(), '\0');
  }
  if (tokens.empty()) return Status::error("token file " + path + " holds no token");
  out = from_tokens(tokens);
  for (auto& token : tokens) std::fill(token.begin(), token.end(), '\0');
  return {};
}

TokenSet TokenSet::from_tokens(const std::vector<std::string>& tokens) {
  TokenSet set;
  for (const auto& token : tokens) set.hashes_.push_back(hash(token));
  return set;
}

bool TokenSet::contains(std::string_view token) const {
  if (token.empty()) return false;
  Hash presented = hash(token);
  bool found = false;
  for (const auto& candidate : hashes_)  // every hash is compared: time does not depend on which one matches
    found |= CRYPTO_memcmp(candidate.data(), presented.data(), presented.size()) == 0;
  return found;
}

bool TokenSet::authorizes(std::string_view authorization) const {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() <= kBearer.size()) return false;
  for (size_t i = 0; i < kBearer.size() - 1; ++i)
    if ((authorization[i] | 0x20) != (kBearer[i] | 0x20)) return false;
  if (authorization[kBearer.size() - 1] != ' ') return false;
  return contains(trim(authorization.substr(kBearer.size())));
}

}  // namespace credtrace::collector
