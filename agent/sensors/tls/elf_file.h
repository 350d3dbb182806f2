// An ELF64 file read through libelf: its sections, symbols and PT_LOAD segments, and its bytes by virtual address.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sensors/tls/file_handles.h"

struct Elf;  // libelf's handle

namespace credtrace::tls {

struct ElfSection {
  std::string name;
  uint32_t type = 0;    // SHT_*
  uint64_t flags = 0;   // SHF_*
  uint64_t addr = 0;    // virtual address when loaded (0 when not)
  uint64_t offset = 0;  // in the file
  uint64_t size = 0;
  uint32_t link = 0;
  uint64_t entsize = 0;
};

struct ElfSegment {  // a PT_LOAD program header
  uint64_t vaddr = 0, offset = 0, filesz = 0, memsz = 0;
  uint32_t flags = 0;  // PF_*
};

struct ElfSymbol {
  std::string_view name;  // as in the string table ("SSL_write@@OPENSSL_3.0.0" keeps its version)
  uint64_t value = 0, size = 0;
  unsigned char type = 0, bind = 0;  // STT_*, STB_*
  uint16_t section = 0;              // st_shndx (SHN_UNDEF: undefined)
  bool hidden_version = false;       // .dynsym only: the .gnu.version entry has the hidden bit (a non-default name@VER)
};

class ElfFile {
 public:
  // Opens `path` (little-endian ELF64, x86-64 or not); nullptr with *error set ("PATH: why") when it cannot be read
  // or libelf refuses its headers.
  static std::unique_ptr<ElfFile> open(const std::string& path, std::string* error);
  ~ElfFile();
  ElfFile(const ElfFile&) = delete;
  ElfFile& operator=(const ElfFile&) = delete;

  const std::string& path() const { return path_; }
  bool position_independent() const { return type_ == 3; }  // ET_DYN: a PIE executable or a shared library
  uint16_t machine() const { return machine_; }
  const std::vector<ElfSection>& sections() const { return sections_; }
  const std::vector<ElfSegment>& loads() const { return loads_; }
  const ElfSection* section(std::string_view name) const;

  // The file's bytes of a section (empty for SHT_NOBITS or one that lies outside the file).
  std::span<const uint8_t> section_bytes(const ElfSection& section) const;
  // The whole file.
  std::span<const uint8_t> bytes() const { return bytes_; }
  // Where `vaddr` lies in the file, through the PT_LOAD whose file image holds it.
  std::optional<uint64_t> vaddr_to_offset(uint64_t vaddr) const;
  // Up to `max` file bytes from `vaddr` on, within its PT_LOAD's file image (empty when unmapped).
  std::span<const uint8_t> bytes_at_vaddr(uint64_t vaddr, size_t max) const;
  // The addend of the R_X86_64_RELATIVE relocation at `vaddr` (a PIE's pointers in data are 0 in the file and come
  // from .rela.dyn at load time). The relocations are read once.
  std::optional<uint64_t> relative_relocation_at(uint64_t vaddr) const;

  // Every symbol of the tables of this type (SHT_DYNSYM or SHT_SYMTAB); stops when `visit` returns false.
  void for_each_symbol(uint32_t table_type, const std::function<bool(const ElfSymbol&)>& visit) const;

 private:
  ElfFile(std::string path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
  bool load(std::string* error);

  std::string path_;
  UniqueFd fd_;
  std::unique_ptr<::Elf, int (*)(::Elf*)> elf_{nullptr, nullptr};
  std::span<const uint8_t> bytes_;  // libelf's read-only mapping of the whole file
  uint16_t type_ = 0, machine_ = 0;
  std::vector<ElfSection> sections_;
  std::vector<size_t> section_indexes_;  // libelf's index of each entry of sections_
  std::vector<ElfSegment> loads_;
  mutable std::optional<std::unordered_map<uint64_t, uint64_t>> relative_relocations_;  // r_offset → addend, once
};

}  // namespace credtrace::tls
