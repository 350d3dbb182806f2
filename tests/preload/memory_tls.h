// An in-memory TLS client/server pair (OpenSSL BIO pair, handshake done) for the preload's tests and benchmark:
// SSL_write and SSL_read run without sockets or threads.
#pragma once

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

namespace credtrace::testing {

template <typename T, void (*Free)(T*)>
struct OpenSslDeleter {
  void operator()(T* p) const { Free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslDeleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, OpenSslDeleter<X509, X509_free>>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, OpenSslDeleter<SSL_CTX, SSL_CTX_free>>;

// A self-signed P-256 certificate and key, made once and shared by every pair.
struct TlsIdentity {
  PkeyPtr key{EVP_EC_gen("P-256")};
  X509Ptr cert{X509_new()};
  TlsIdentity() {
    if (!key || !cert) return;
    X509_set_version(cert.get(), 2);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
    X509_set_pubkey(cert.get(), key.get());
    X509_sign(cert.get(), key.get(), EVP_sha256());
  }
};

class MemoryTls {
 public:
  MemoryTls() = default;
  ~MemoryTls() {
    if (client_) SSL_free(client_);
    if (server_) SSL_free(server_);
  }
  MemoryTls(const MemoryTls&) = delete;
  MemoryTls& operator=(const MemoryTls&) = delete;

  // create() then handshake(sni).
  bool setup(const TlsIdentity& identity, const std::string& sni) { return create(identity) && handshake(sni); }

  // The two ends joined by a BIO pair, before the handshake.
  bool create(const TlsIdentity& identity) {
    client_ctx_.reset(SSL_CTX_new(TLS_client_method()));
    server_ctx_.reset(SSL_CTX_new(TLS_server_method()));
    if (!client_ctx_ || !server_ctx_ || !identity.key || !identity.cert) return false;
    SSL_CTX_use_certificate(server_ctx_.get(), identity.cert.get());
    SSL_CTX_use_PrivateKey(server_ctx_.get(), identity.key.get());
    SSL_CTX_set_verify(client_ctx_.get(), SSL_VERIFY_NONE, nullptr);
    client_ = SSL_new(client_ctx_.get());
    server_ = SSL_new(server_ctx_.get());
    if (!client_ || !server_) return false;
    BIO *client_end = nullptr, *server_end = nullptr;
    BIO_new_bio_pair(&client_end, 1 << 20, &server_end, 1 << 20);
    SSL_set_bio(client_, client_end, client_end);
    SSL_set_bio(server_, server_end, server_end);
    ciphertext_to_server_ = server_end;
    SSL_set_connect_state(client_);
    SSL_set_accept_state(server_);
    return true;
  }

  // The handshake, with sni (through SSL_ctrl) when not empty. false when it fails.
  bool handshake(const std::string& sni) {
    if (!sni.empty() && SSL_set_tlsext_host_name(client_, sni.c_str()) != 1) return false;
    for (int i = 0; i < 100; ++i) {
      const int client = SSL_do_handshake(client_), server = SSL_do_handshake(server_);  // both driven every turn
      if (client == 1 && server == 1) return true;
    }
    return false;
  }
  SSL* client() const { return client_; }
  SSL* server() const { return server_; }
  // Throws away the ciphertext the client wrote (a write-only loop without SSL_read).
  void discard_ciphertext(char* sink, int size) {
    while (BIO_read(ciphertext_to_server_, sink, size) > 0) {
    }
  }

 private:
  SslCtxPtr client_ctx_, server_ctx_;
  SSL* client_ = nullptr;
  SSL* server_ = nullptr;
  BIO* ciphertext_to_server_ = nullptr;
};

}  // namespace credtrace::testing
