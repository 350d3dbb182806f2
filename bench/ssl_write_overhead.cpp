// Benchmark: added cost per SSL_write (1 KiB over an in-memory TLS connection, system libssl) with no agent, with the
// agent running (this process unwatched: the uprobe fires and returns), and with this process watched (plaintext
// captured). Target: at most 1 us added per SSL_write on this VM.
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ct_empty.skel.h"
#include "running_agent.h"
#include "tls/elf_symbols.h"
#include "tls/probe_point.h"

namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using CtxPtr = std::unique_ptr<SSL_CTX, Deleter<SSL_CTX, SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, Deleter<SSL, SSL_free>>;

// A TLS client and server joined by memory BIOs, handshake done: SSL_write runs without sockets or threads.
struct MemoryTls {
  CtxPtr client_ctx{SSL_CTX_new(TLS_client_method())}, server_ctx{SSL_CTX_new(TLS_server_method())};
  SslPtr client, server;

  bool setup() {
    PkeyPtr key(EVP_EC_gen("P-256"));
    X509Ptr cert(X509_new());
    if (!key || !cert) return false;
    X509_set_version(cert.get(), 2);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
    X509_set_pubkey(cert.get(), key.get());
    X509_sign(cert.get(), key.get(), EVP_sha256());
    SSL_CTX_use_certificate(server_ctx.get(), cert.get());
    SSL_CTX_use_PrivateKey(server_ctx.get(), key.get());
    SSL_CTX_set_verify(client_ctx.get(), SSL_VERIFY_NONE, nullptr);
    client.reset(SSL_new(client_ctx.get()));
    server.reset(SSL_new(server_ctx.get()));
    BIO *c2s_read = nullptr, *c2s_write = nullptr;
    BIO_new_bio_pair(&c2s_write, 1 << 20, &c2s_read, 1 << 20);  // client writes c2s_write, server reads c2s_read
    SSL_set_bio(client.get(), c2s_write, c2s_write);
    SSL_set_bio(server.get(), c2s_read, c2s_read);
    SSL_set_connect_state(client.get());
    SSL_set_accept_state(server.get());
    SSL_set_tlsext_host_name(client.get(), "localhost");
    for (int i = 0; i < 100; ++i) {
      int c = SSL_do_handshake(client.get()), s = SSL_do_handshake(server.get());
      if (c == 1 && s == 1) return true;
    }
    return false;
  }

  // One 1 KiB request written by the client and drained by the server.
  void round_trip(const std::string& request, std::vector<char>& sink) {
    SSL_write(client.get(), request.data(), static_cast<int>(request.size()));
    SSL_read(server.get(), sink.data(), static_cast<int>(sink.size()));
  }
};

double ns_per_round_trip(MemoryTls& tls, const std::string& request, int iterations) {
  std::vector<char> sink(4096);
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations; ++i) tls.round_trip(request, sink);
  return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count() / iterations;
}

double median_ns(MemoryTls& tls, const std::string& request) {
  std::vector<double> samples;
  for (int i = 0; i < 7; ++i) samples.push_back(ns_per_round_trip(tls, request, 20000));
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

struct EmptyDeleter {
  void operator()(ct_empty* skel) const { ct_empty__destroy(skel); }
};

// An empty uprobe at the very instruction the agent probes in libssl's SSL_write: the mechanism's own cost.
std::unique_ptr<ct_empty, EmptyDeleter> attach_empty_uprobe(const std::string& libssl, std::string* where) {
  std::unique_ptr<ct_empty, EmptyDeleter> skel(ct_empty__open_and_load());
  std::string error;
  auto functions = credtrace::tls::find_functions(libssl, {"SSL_write"}, &error);
  if (!skel || !functions || functions->empty()) return nullptr;
  auto code = credtrace::tls::read_function_bytes(libssl, functions->front(), 128);
  if (!code) return nullptr;
  auto point = credtrace::tls::choose_entry_probe(functions->front(), *code, 3);
  *where = "SSL_write+" + std::to_string(point.function_offset) + " (" + point.instruction + ")";
  if (!bpf_program__attach_uprobe(skel->progs.empty_uprobe, false, -1, libssl.c_str(), point.file_offset)) return nullptr;
  return skel;
}

}  // namespace

int main() {
  if (geteuid() != 0) {
    std::fprintf(stderr, "bench_ssl_write needs root (the agent loads BPF programs)\n");
    return 2;
  }
  MemoryTls tls;
  if (!tls.setup()) {
    std::fprintf(stderr, "in-memory TLS handshake failed\n");
    return 1;
  }
  std::string request = "POST /v1/chat HTTP/1.1\r\nHost: api.example.test\r\nAuthorization: Bearer not-a-real-token\r\n"
                        "Content-Length: 900\r\n\r\n";
  request.resize(1024, 'x');
  char dir_template[] = "/tmp/credtrace-bench-ssl-XXXXXX";
  std::string dir = mkdtemp(dir_template);
  median_ns(tls, request);  // warm up
  double off = median_ns(tls, request), empty = 0, unwatched = 0, watched = 0;
  std::string where;
  {
    auto skel = attach_empty_uprobe("/usr/lib/x86_64-linux-gnu/libssl.so.3", &where);
    if (!skel) {
      std::fprintf(stderr, "cannot attach the empty uprobe\n");
      return 1;
    }
    empty = median_ns(tls, request);
  }
  {
    RunningAgent agent;
    if (!agent.start(dir)) return 1;
    unwatched = median_ns(tls, request);
  }
  {
    RunningAgent agent;
    if (!agent.start(dir, "  extra_server_patterns: [\"bench_ssl_write*\"]\n")) return 1;
    watched = median_ns(tls, request);
  }
  std::printf("SSL_write 1 KiB + SSL_read, in-memory TLS, system libssl (median of 7 x 20000)\n");
  std::printf("no agent:              %8.0f ns per round trip\n", off);
  std::printf("empty uprobe at %s: %8.0f ns  (+%.0f ns: the uprobe mechanism itself)\n", where.c_str(), empty,
              empty - off);
  std::printf("agent, unwatched:      %8.0f ns  (+%.0f ns per SSL_write)\n", unwatched, unwatched - off);
  std::printf("agent, watched:        %8.0f ns  (+%.0f ns per SSL_write: 1 KiB captured and parsed)\n", watched,
              watched - off);
  std::printf("target: <= 1000 ns added per SSL_write\n");
  return 0;
}
