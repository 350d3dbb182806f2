// TLS implementations the agent finds but does not probe: by library name, and by strings in an executable's
// read-only data (rustls' crate paths, OpenSSL's source file names).
#include "sensors/tls/tls_inventory.h"

#include <algorithm>
#include <string_view>

namespace credtrace::tls {
namespace {

struct LibraryName {
  std::string_view prefix;
  std::string_view implementation;
};

constexpr LibraryName kUnsupportedLibraries[] = {
    {"libgnutls.so", "gnutls"}, {"libnss3.so", "nss"},         {"libssl3.so", "nss"},
    {"libwolfssl.so", "wolfssl"}, {"libmbedtls.so", "mbedtls"},
};

bool contains(std::span<const uint8_t> haystack, std::string_view needle) {
  auto it = std::search(haystack.begin(), haystack.end(), std::boyer_moore_horspool_searcher(
                                                              needle.begin(), needle.end()));
  return it != haystack.end();
}

std::span<const uint8_t> rodata(const ElfFile& elf) {
  const ElfSection* s = elf.section(".rodata");
  return s ? elf.section_bytes(*s) : std::span<const uint8_t>{};
}

}  // namespace

std::optional<UnprobedTls> unsupported_library(const std::string& file_name) {
  for (const auto& library : kUnsupportedLibraries) {
    if (std::string_view(file_name).starts_with(library.prefix))
      return UnprobedTls{std::string(library.implementation), "unsupported: " + std::string(library.implementation)};
  }
  return std::nullopt;
}

bool is_unsupported_tls_library(const std::string& file_name) { return unsupported_library(file_name).has_value(); }

bool has_rustls(const ElfFile& elf) {
  const auto data = rodata(elf);
  return contains(data, "/rustls-0.") || contains(data, "rustls::conn") || contains(data, "rustls::client");
}

bool has_stripped_openssl(const ElfFile& elf) {
  const auto data = rodata(elf);
  constexpr std::string_view kSourceFile("ssl/ssl_lib.c\0", 14);  // not BoringSSL's ssl_lib.cc
  return contains(data, kSourceFile) && contains(data, "OpenSSL ");
}

}  // namespace credtrace::tls
