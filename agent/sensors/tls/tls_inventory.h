// Which TLS implementations a file holds when the agent cannot probe them: shared libraries known by name (GnuTLS,
// NSS, wolfSSL, mbedTLS), rustls compiled into an executable, OpenSSL linked statically without its symbols.
#pragma once

#include <optional>
#include <string>

#include "sensors/tls/elf_file.h"

namespace credtrace::tls {

// A TLS implementation found in a file and why the agent has no probe points for it.
struct UnprobedTls {
  std::string implementation;  // gnutls, nss, wolfssl, mbedtls, rustls, openssl
  std::string reason;          // "unsupported: gnutls", "no symbols: OpenSSL linked statically and stripped"
};

// A TLS library recognised by its file name (libgnutls.so.30, libnss3.so, libssl3.so, libwolfssl.so.*,
// libmbedtls.so.*), or nullopt.
std::optional<UnprobedTls> unsupported_library(const std::string& file_name);

// Whether a mapped file's name is one of those libraries (worth inspecting for the coverage report).
bool is_unsupported_tls_library(const std::string& file_name);

// rustls compiled into the file: its crate path ("/rustls-0.23.x/src/...", kept by Rust's panic locations) or its
// type names in the read-only data. Bounded: only .rodata is searched.
bool has_rustls(const ElfFile& elf);

// OpenSSL compiled in without the SSL_* symbols: its source file names ("ssl/ssl_lib.c") in .rodata.
bool has_stripped_openssl(const ElfFile& elf);

}  // namespace credtrace::tls
