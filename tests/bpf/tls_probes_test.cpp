// BPF driver tests of the TLS uprobes: system libssl writes, reads, stream lifetime, and ciphertext paired with its socket.
#include <sys/mman.h>

#include "probe_fixture.h"

namespace credtrace::loader {
namespace {

// In-memory TLS (the memory BIOs Node and asyncio use) inside this process.
struct MemoryTls {
  SSL_CTX* client_ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX* server_ctx = SSL_CTX_new(TLS_server_method());
  SSL* client = nullptr;
  SSL* server = nullptr;

  bool handshake() {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(cert, X509_get_subject_name(cert));
    X509_set_pubkey(cert, key);
    X509_sign(cert, key, EVP_sha256());
    SSL_CTX_set_verify(client_ctx, SSL_VERIFY_NONE, nullptr);
    SSL_CTX_use_certificate(server_ctx, cert);
    SSL_CTX_use_PrivateKey(server_ctx, key);
    X509_free(cert);
    EVP_PKEY_free(key);
    client = SSL_new(client_ctx);
    server = SSL_new(server_ctx);
    BIO *to_server = nullptr, *to_client = nullptr;
    BIO_new_bio_pair(&to_server, 1 << 16, &to_client, 1 << 16);
    SSL_set_bio(client, to_server, to_server);
    SSL_set_bio(server, to_client, to_client);
    SSL_set_connect_state(client);
    SSL_set_accept_state(server);
    for (int i = 0; i < 100; ++i) {
      const int c = SSL_do_handshake(client), s = SSL_do_handshake(server);  // both sides step every round
      if (c == 1 && s == 1) return true;
    }
    return false;
  }
  ~MemoryTls() {
    SSL_free(client);
    SSL_free(server);
    SSL_CTX_free(client_ctx);
    SSL_CTX_free(server_ctx);
  }
};

sensors::TlsLibrariesOptions global_mode() {
  sensors::TlsLibrariesOptions options;
  options.mode = sensors::UprobeMode::global;
  return options;
}

sensors::TlsLibrariesOptions per_process_mode() {
  sensors::TlsLibrariesOptions options;
  options.mode = sensors::UprobeMode::per_process;
  return options;
}

std::string joined_tls_data(const std::vector<Captured>& events, const SSL* ssl, uint32_t direction) {
  std::string out;
  for (const auto& c : events) {
    if (c.type != CT_EVENT_TLS_DATA) continue;
    const auto& e = c.as<ct_tls_data_event>();
    if (e.ssl == reinterpret_cast<uint64_t>(ssl) && e.direction == direction) out.append(e.data, e.len);
  }
  return out;
}

// The system libssl's probes: SSL_new's return, SSL_write, SSL_read and SSL_read_ex (through their common internal
// callee, whose entry is emulated) and SSL_free, all keyed by the SSL*.
TEST_F(ProbesTest, SystemLibsslWritesReadsAndStreamLifetimeAreSeen) {
  sensors::TlsLibraries libraries(*probes_, global_mode());
  ASSERT_GT(libraries.start(), 5u);
  for (const auto& where : libraries.attached()) EXPECT_NE(where.find("emulated)"), std::string::npos) << where;
  probes_->add_to_set(CT_SET_WATCHED, getpid());
  std::string request = "GET /v1/models HTTP/1.1\r\nHost: api.example.test\r\n\r\n";
  const SSL* client_ssl = nullptr;
  const SSL* server_ssl = nullptr;
  {
    MemoryTls tls;
    ASSERT_TRUE(tls.handshake());
    client_ssl = tls.client, server_ssl = tls.server;
    ASSERT_EQ(SSL_write(tls.client, request.data(), static_cast<int>(request.size())), static_cast<int>(request.size()));
    std::string first(10, '\0'), rest(request.size(), '\0');
    ASSERT_EQ(SSL_read(tls.server, first.data(), static_cast<int>(first.size())), 10);
    size_t got = 0;
    ASSERT_EQ(SSL_read_ex(tls.server, rest.data(), rest.size(), &got), 1);
    ASSERT_EQ(first + rest.substr(0, got), request);
  }
  for (int i = 0; i < 20; ++i) probes_->poll(20);
  probes_->remove_from_set(CT_SET_WATCHED, getpid());
  EXPECT_EQ(joined_tls_data(events_, client_ssl, CT_TLS_WRITE), request);
  EXPECT_EQ(joined_tls_data(events_, server_ssl, CT_TLS_READ), request);
  for (const SSL* ssl : {client_ssl, server_ssl}) {
    auto of = [&](uint32_t type) {
      return [=](const Captured& c) {
        return c.type == type && c.as<ct_tls_free_event>().ssl == reinterpret_cast<uint64_t>(ssl);
      };
    };
    EXPECT_TRUE(any(of(CT_EVENT_TLS_NEW)));
    EXPECT_TRUE(any(of(CT_EVENT_TLS_FREE)));
  }
}

// A memory BIO's ciphertext (node, asyncio) flushed by the writing thread to a socket it connected is paired with the
// SSL_write that produced it, also behind other records in the same write (node flushes TLS 1.3's ChangeCipherSpec
// and Finished with the first request); bytes that are not TLS records leave the pairing pending.
TEST_F(ProbesTest, SslWriteCiphertextFlushedToASocketIsPairedWithIt) {
  sensors::TlsLibraries libraries(*probes_, per_process_mode());
  ASSERT_GT(libraries.attach_for_process(static_cast<uint32_t>(getpid())), 5u);  // this process only
  probes_->add_to_set(CT_SET_WATCHED, getpid());
  LoopbackPair pair;
  ASSERT_TRUE(pair.open());  // connected while watched: the kernel knows the socket
  std::string request = "POST /v1/messages HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n";
  const SSL* client_ssl = nullptr;
  {
    MemoryTls tls;
    ASSERT_TRUE(tls.handshake());
    client_ssl = tls.client;
    ASSERT_EQ(SSL_write(tls.client, request.data(), static_cast<int>(request.size())), static_cast<int>(request.size()));
    const std::string not_a_record = "GET / HTTP/1.1\r\n\r\n";
    ASSERT_EQ(write(pair.client, not_a_record.data(), not_a_record.size()), static_cast<ssize_t>(not_a_record.size()));
    std::string ciphertext(4096, '\0');
    const int n = BIO_read(SSL_get_rbio(tls.server), ciphertext.data(), static_cast<int>(ciphertext.size()));
    ASSERT_GT(n, static_cast<int>(request.size()));
    const std::string flushed = std::string("\x14\x03\x03\x00\x01\x01", 6) + ciphertext.substr(0, n);
    ASSERT_EQ(write(pair.client, flushed.data(), flushed.size()), static_cast<ssize_t>(flushed.size()));
  }
  for (int i = 0; i < 20; ++i) probes_->poll(20);
  probes_->remove_from_set(CT_SET_WATCHED, getpid());
  std::vector<ct_tls_socket_event> pairs;
  for (const auto& c : events_)
    if (c.type == CT_EVENT_TLS_SOCKET && c.as<ct_tls_socket_event>().ssl == reinterpret_cast<uint64_t>(client_ssl))
      pairs.push_back(c.as<ct_tls_socket_event>());
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_EQ(pairs[0].fd, static_cast<uint32_t>(pair.client));
  EXPECT_EQ(pairs[0].hdr.tgid, static_cast<uint32_t>(getpid()));
  EXPECT_GE(pairs[0].record_len, request.size());
}



// A file a process maps executable: reported (lib_map, with its inode and the mapping's address) only when the
// process is watched and the file's name is libssl.so* (or node); other names and unwatched processes: nothing.
TEST_F(ProbesTest, ExecutableMapOfALibsslByAWatchedProcessIsReported) {
  const std::string dir = "/tmp/credtrace-bpf-libmap-" + std::to_string(getpid());
  ASSERT_EQ(system(("mkdir -p " + dir + " && cp /usr/lib/x86_64-linux-gnu/libssl.so.3 " + dir +
                    "/libssl.so.3 && cp /usr/lib/x86_64-linux-gnu/libssl.so.3 " + dir + "/libother.so").c_str()),
            0);
  auto map_exec = [](const std::string& path, uint64_t* inode) -> void* {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return nullptr;
    struct stat st{};
    fstat(fd, &st);
    *inode = st.st_ino;
    void* at = mmap(nullptr, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
    close(fd);
    return at == MAP_FAILED ? nullptr : at;
  };
  auto reported = [this](uint64_t inode, void* at) {
    return [inode, at](const Captured& c) {
      return c.type == CT_EVENT_LIB_MAP && c.as<ct_lib_map_event>().inode == inode &&
             c.as<ct_lib_map_event>().start == reinterpret_cast<uint64_t>(at);
    };
  };
  uint64_t unwatched_inode = 0;
  void* unwatched = map_exec(dir + "/libssl.so.3", &unwatched_inode);
  ASSERT_NE(unwatched, nullptr);
  probes_->add_to_set(CT_SET_WATCHED, getpid());
  uint64_t inode = 0, other_inode = 0;
  void* mapped = map_exec(dir + "/libssl.so.3", &inode);
  void* other = map_exec(dir + "/libother.so", &other_inode);
  ASSERT_NE(mapped, nullptr);
  ASSERT_NE(other, nullptr);
  const Captured* e = wait_for(reported(inode, mapped));
  ASSERT_NE(e, nullptr);
  EXPECT_STREQ(e->as<ct_lib_map_event>().name, "libssl.so.3");
  EXPECT_EQ(e->as<ct_lib_map_event>().hdr.tgid, static_cast<uint32_t>(getpid()));
  EXPECT_TRUE(e->as<ct_lib_map_event>().hdr.flags & CT_FLAG_WATCHED);
  EXPECT_FALSE(e->as<ct_lib_map_event>().hdr.flags & CT_FLAG_HELD);  // hold_watched_execs is off
  EXPECT_FALSE(any(reported(other_inode, other)));
  EXPECT_FALSE(any(reported(unwatched_inode, unwatched)));
  probes_->remove_from_set(CT_SET_WATCHED, getpid());
  munmap(mapped, 4096);
  munmap(other, 4096);
  munmap(unwatched, 4096);
  EXPECT_EQ(system(("rm -rf " + dir).c_str()), 0);
}

}  // namespace
}  // namespace credtrace::loader
