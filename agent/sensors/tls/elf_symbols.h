// ELF64 function-symbol lookup (.dynsym, then .symtab) with vaddr → file-offset mapping for uprobes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace credtrace::tls {

struct ElfFunction {
  std::string name;          // base name as requested (no @VERSION suffix)
  uint64_t file_offset = 0;  // where the first byte lives in the file (what uprobes attach to)
  uint64_t vaddr = 0;        // st_value (link-time virtual address)
  uint64_t size = 0;         // st_size (0 when the symbol carries no size)
};

// Looks up defined STT_FUNC symbols named `names` (a symbol "SSL_write@@OPENSSL_3.0.0" matches
// "SSL_write"), first in .dynsym and then, for names still missing, in .symtab. Default versions win
// over hidden/non-default ones. Symbols whose vaddr lies outside every PT_LOAD file image are skipped.
// Returns the found functions in the order of `names` (missing names are simply absent), or nullopt
// with *error set when the file cannot be read or is not a well-formed little-endian ELF64 file.
std::optional<std::vector<ElfFunction>> find_functions(const std::string& path,
                                                       const std::vector<std::string>& names,
                                                       std::string* error);

class ElfFile;
// The same on a file already open.
std::vector<ElfFunction> find_functions(const ElfFile& elf, const std::vector<std::string>& names);

// Reads min(f.size, max_bytes) bytes (max_bytes when f.size is 0) from f.file_offset; the result is
// shorter when the file ends early, and nullopt when the file cannot be opened or nothing was read.
std::optional<std::vector<uint8_t>> read_function_bytes(const std::string& path, const ElfFunction& f,
                                                        size_t max_bytes);

}  // namespace credtrace::tls
