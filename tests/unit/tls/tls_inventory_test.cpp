// tls_inventory on real binaries: rustls compiled in (a client built here from Debian's crate sources), OpenSSL
// linked statically and stripped, the unsupported libraries by name, and files that hold none of them.
#include "sensors/tls/tls_inventory.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

namespace credtrace::tls {
namespace {

std::unique_ptr<ElfFile> open_elf(const std::string& path) {
  std::string error;
  auto elf = ElfFile::open(path, &error);
  EXPECT_NE(elf, nullptr) << error;
  return elf;
}

TEST(TlsInventory, RustlsCompiledIntoAClient) {
  auto rustls = open_elf(std::string(CREDTRACE_RUST_PROGRAMS) + "/rustls_client");
  ASSERT_NE(rustls, nullptr);
  EXPECT_TRUE(has_rustls(*rustls));
  EXPECT_FALSE(has_stripped_openssl(*rustls));
  auto none = open_elf("/bin/true");
  ASSERT_NE(none, nullptr);
  EXPECT_FALSE(has_rustls(*none));
  EXPECT_FALSE(has_stripped_openssl(*none));
}

TEST(TlsInventory, OpenSslLinkedStaticallyAndStripped) {
  auto elf = open_elf(CREDTRACE_STATIC_OPENSSL);
  ASSERT_NE(elf, nullptr);
  EXPECT_TRUE(has_stripped_openssl(*elf));
  EXPECT_FALSE(has_rustls(*elf));
  bool has_ssl_write = false;
  for (uint32_t table : {2u /* SHT_SYMTAB */, 11u /* SHT_DYNSYM */})
    elf->for_each_symbol(table, [&](const ElfSymbol& s) { return !(has_ssl_write = s.name == "SSL_write"); });
  EXPECT_FALSE(has_ssl_write);  // stripped: nothing to probe by
}

TEST(TlsInventory, BunsBoringSslIsNotMistakenForOpenSsl) {
  const std::string bun = std::string(CREDTRACE_NPM_MODULES) + "/@oven/bun-linux-x64/bin/bun";
  if (::access(bun.c_str(), R_OK) != 0) GTEST_SKIP() << bun << " absent (npm ci in tests/e2e/npm)";
  auto elf = open_elf(bun);
  ASSERT_NE(elf, nullptr);
  EXPECT_FALSE(has_stripped_openssl(*elf));  // BoringSSL's ssl_lib.cc is not OpenSSL's ssl_lib.c
}

TEST(TlsInventory, UnsupportedLibrariesByName) {
  EXPECT_EQ(unsupported_library("libgnutls.so.30")->implementation, "gnutls");
  EXPECT_EQ(unsupported_library("libgnutls.so.30")->reason, "unsupported: gnutls");
  EXPECT_EQ(unsupported_library("libnss3.so")->implementation, "nss");
  EXPECT_EQ(unsupported_library("libssl3.so")->implementation, "nss");
  EXPECT_EQ(unsupported_library("libwolfssl.so.35")->implementation, "wolfssl");
  EXPECT_EQ(unsupported_library("libmbedtls.so.14")->implementation, "mbedtls");
  EXPECT_FALSE(unsupported_library("libssl.so.3"));
  EXPECT_FALSE(unsupported_library("libgnutls-openssl.so.27"));
  EXPECT_FALSE(unsupported_library("libc.so.6"));
}

}  // namespace
}  // namespace credtrace::tls
