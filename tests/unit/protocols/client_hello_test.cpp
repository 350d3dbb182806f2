// client_hello_server_name on ClientHellos OpenSSL writes here (with and without SNI, TLS 1.2 and 1.3), cut or altered
// copies of them, and bytes that are no TLS at all.
#include "protocols/tls/client_hello.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>

namespace credtrace::protocols {
namespace {

// The first flight of a real OpenSSL client into a memory BIO: its ClientHello record.
std::string openssl_client_hello(const char* server_name, int max_version = TLS1_3_VERSION) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  SSL_CTX_set_max_proto_version(ctx.get(), max_version);
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl.get(), in, out);  // owned by the SSL from here
  if (server_name) SSL_set_tlsext_host_name(ssl.get(), server_name);
  SSL_set_connect_state(ssl.get());
  SSL_do_handshake(ssl.get());  // wants to read the server's answer: the hello is in `out`
  char* data = nullptr;
  const long length = BIO_get_mem_data(out, &data);
  return std::string(data, static_cast<size_t>(length));
}

TEST(ClientHello, TheServerNameOfARealHello) {
  const std::string hello = openssl_client_hello("api.github.com");
  ASSERT_GT(hello.size(), 100u);
  EXPECT_EQ(client_hello_server_name(hello), "api.github.com");
  EXPECT_EQ(client_hello_server_name(openssl_client_hello("localhost", TLS1_2_VERSION)), "localhost");
  // Whatever follows the record (the next write) does not matter.
  EXPECT_EQ(client_hello_server_name(hello + "GET / HTTP/1.1\r\n"), "api.github.com");
}

TEST(ClientHello, NoNameWhenThereIsNone) {
  EXPECT_EQ(client_hello_server_name(openssl_client_hello(nullptr)), std::nullopt);
  EXPECT_EQ(client_hello_server_name(""), std::nullopt);
  EXPECT_EQ(client_hello_server_name("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), std::nullopt);
  EXPECT_EQ(client_hello_server_name(std::string("\x16\x03\x01\x00\x05\x02\x00\x00\x01\x00", 10)), std::nullopt);
}

TEST(ClientHello, ACutOrCorruptHelloGivesNoName) {
  const std::string hello = openssl_client_hello("api.github.com");
  for (size_t cut = 0; cut < hello.size(); ++cut)
    EXPECT_EQ(client_hello_server_name(hello.substr(0, cut)), std::nullopt) << "cut at " << cut;
  std::string other_type = hello;
  other_type[0] = 23;  // application data
  EXPECT_EQ(client_hello_server_name(other_type), std::nullopt);
  std::string bad_name = hello;
  const size_t at = bad_name.find("api.github.com");
  ASSERT_NE(at, std::string::npos);
  bad_name[at + 3] = '\n';
  EXPECT_EQ(client_hello_server_name(bad_name), std::nullopt);
  // Every single-byte change either keeps a name or gives none: never a read past the end (ASan).
  for (size_t i = 0; i < hello.size(); ++i) {
    std::string changed = hello;
    changed[i] = static_cast<char>(changed[i] ^ 0xff);
    (void)client_hello_server_name(changed);
  }
}

}  // namespace
}  // namespace credtrace::protocols
