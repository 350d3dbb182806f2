// BoringSSL inside a binary: whether it is there, and where SSL_write/SSL_read are (symbols, else an error signature).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "sensors/tls/elf_file.h"

namespace credtrace::tls {

struct BoringSslFunctions {
  uint64_t ssl_write_vaddr = 0, ssl_write_offset = 0;  // link-time address and where it lives in the file
  uint64_t ssl_read_vaddr = 0, ssl_read_offset = 0;
  // How they were found, e.g. "symbols (.dynsym)" or "ssl_lib.cc sites: SSL_write reasons 66,226,215,111;
  // SSL_read reason 66 + call ssl_read_impl 0x…".
  std::string evidence;
};

// Whether the file holds BoringSSL: a __FILE__ string ".../boringssl/ssl/ssl_lib.cc" in its read-only data, or the
// symbol or string "openssl_is_boringssl".
bool has_boringssl(const ElfFile& elf);

// SSL_write and SSL_read of the BoringSSL in `elf`. By symbol (.dynsym, then .symtab) when the file has them; else
// by the OPENSSL_PUT_ERROR(SSL, reason) sites that reference the "ssl_lib.cc" __FILE__ string (`mov ecx, imm32` in
// non-PIE code, `lea rcx, [rip+…]` in PIE code), grouped by containing function:
//   SSL_write     = the only function whose sites, in line order, have the reasons 66, 226, 215, 111;
//   ssl_read_impl = the only function whose sites, in line order, have the reasons 226, 215;
//   SSL_read      = the only function with one site, reason 66, that calls ssl_read_impl directly (SSL_peek inlined);
// both must start with `push %rbp; mov %rsp,%rbp` (a uprobe there is emulated: no single-step).
// nullopt with *why_not: "not BoringSSL: …" when has_boringssl() is false (OpenSSL's SSL_write is not looked up
// here), "signature mismatch: <what did not match>" when the signature fails.
std::optional<BoringSslFunctions> locate_boringssl(const ElfFile& elf, std::string* why_not);

}  // namespace credtrace::tls
