// An ELF64 file read through libelf (elfutils): headers, sections, symbols and relocations, bounds-checked.
#include "sensors/tls/elf_file.h"

#include <gelf.h>
#include <libelf.h>

#include <algorithm>

namespace credtrace::tls {
namespace {

constexpr GElf_Half kVersymHidden = 0x8000;  // .gnu.version: a non-default version (name@VER)

bool libelf_ready() {
  static const bool ready = [] { return elf_version(EV_CURRENT) != EV_NONE; }();
  return ready;
}

std::string libelf_error() {
  const char* message = elf_errmsg(-1);
  return message ? message : "libelf error";
}

// The section's data as libelf gives it (converted to host order), or nullptr.
Elf_Data* section_data(Elf* elf, size_t index) {
  Elf_Scn* scn = elf_getscn(elf, index);
  return scn ? elf_getdata(scn, nullptr) : nullptr;
}

}  // namespace

std::unique_ptr<ElfFile> ElfFile::open(const std::string& path, std::string* error) {
  UniqueFd fd = open_read_only(path, error);
  if (!fd.valid()) return nullptr;
  std::unique_ptr<ElfFile> file(new ElfFile(path, std::move(fd)));
  if (!file->load(error)) return nullptr;
  return file;
}

ElfFile::~ElfFile() = default;

bool ElfFile::load(std::string* error) {
  auto fail = [&](const std::string& why) {
    if (error) *error = path_ + ": " + why;
    return false;
  };
  auto malformed = [&] { return fail("malformed or truncated ELF headers (libelf: " + libelf_error() + ")"); };
  if (!libelf_ready()) return fail("libelf: " + libelf_error());
  elf_ = {elf_begin(fd_.get(), ELF_C_READ_MMAP, nullptr), &elf_end};
  if (!elf_) return fail(libelf_error());
  if (elf_kind(elf_.get()) != ELF_K_ELF || gelf_getclass(elf_.get()) != ELFCLASS64) return fail("not an ELF64 file");
  size_t raw_size = 0;
  const char* raw = elf_rawfile(elf_.get(), &raw_size);
  if (!raw) return malformed();
  bytes_ = {reinterpret_cast<const uint8_t*>(raw), raw_size};
  GElf_Ehdr eh;
  if (!gelf_getehdr(elf_.get(), &eh)) return malformed();
  if (eh.e_ident[EI_DATA] != ELFDATA2LSB) return fail("not a little-endian ELF file");
  type_ = eh.e_type;
  machine_ = eh.e_machine;
  size_t phnum = 0, shstrndx = 0;
  if (elf_getphdrnum(elf_.get(), &phnum) != 0) return malformed();
  for (size_t i = 0; i < phnum; ++i) {
    GElf_Phdr ph;
    if (!gelf_getphdr(elf_.get(), static_cast<int>(i), &ph)) return malformed();
    if (ph.p_type == PT_LOAD) loads_.push_back({ph.p_vaddr, ph.p_offset, ph.p_filesz, ph.p_memsz, ph.p_flags});
  }
  if (elf_getshdrstrndx(elf_.get(), &shstrndx) != 0) return malformed();
  for (Elf_Scn* scn = elf_nextscn(elf_.get(), nullptr); scn; scn = elf_nextscn(elf_.get(), scn)) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh)) return malformed();
    const char* name = elf_strptr(elf_.get(), shstrndx, sh.sh_name);
    sections_.push_back({name ? name : "", sh.sh_type, sh.sh_flags, sh.sh_addr, sh.sh_offset, sh.sh_size, sh.sh_link,
                         sh.sh_entsize});
    section_indexes_.push_back(elf_ndxscn(scn));
  }
  return true;
}

const ElfSection* ElfFile::section(std::string_view name) const {
  for (const auto& s : sections_)
    if (s.name == name) return &s;
  return nullptr;
}

std::span<const uint8_t> ElfFile::section_bytes(const ElfSection& s) const {
  if (s.type == SHT_NOBITS || s.offset > bytes_.size() || s.size > bytes_.size() - s.offset) return {};
  return bytes_.subspan(s.offset, s.size);
}

std::optional<uint64_t> ElfFile::vaddr_to_offset(uint64_t vaddr) const {
  for (const auto& load : loads_)
    if (vaddr >= load.vaddr && vaddr - load.vaddr < load.filesz) return load.offset + (vaddr - load.vaddr);
  return std::nullopt;
}

std::span<const uint8_t> ElfFile::bytes_at_vaddr(uint64_t vaddr, size_t max) const {
  for (const auto& load : loads_) {
    if (vaddr < load.vaddr || vaddr - load.vaddr >= load.filesz) continue;
    const uint64_t offset = load.offset + (vaddr - load.vaddr);
    if (offset >= bytes_.size()) return {};
    const uint64_t room = std::min<uint64_t>(load.filesz - (vaddr - load.vaddr), bytes_.size() - offset);
    return bytes_.subspan(offset, static_cast<size_t>(std::min<uint64_t>(room, max)));
  }
  return {};
}

std::optional<uint64_t> ElfFile::relative_relocation_at(uint64_t vaddr) const {
  if (!relative_relocations_) {
    relative_relocations_.emplace();
    for (size_t i = 0; i < sections_.size(); ++i) {
      if (sections_[i].type != SHT_RELA) continue;
      Elf_Data* data = section_data(elf_.get(), section_indexes_[i]);
      if (!data || sections_[i].entsize == 0) continue;
      const size_t count = data->d_size / sections_[i].entsize;
      for (size_t k = 0; k < count; ++k) {
        GElf_Rela rela;
        if (!gelf_getrela(data, static_cast<int>(k), &rela)) break;
        if (GELF_R_TYPE(rela.r_info) == R_X86_64_RELATIVE)
          relative_relocations_->emplace(rela.r_offset, static_cast<uint64_t>(rela.r_addend));
      }
    }
  }
  auto it = relative_relocations_->find(vaddr);
  if (it == relative_relocations_->end()) return std::nullopt;
  return it->second;
}

void ElfFile::for_each_symbol(uint32_t table_type, const std::function<bool(const ElfSymbol&)>& visit) const {
  // .gnu.version parallels .dynsym: its hidden bit marks the non-default versions.
  Elf_Data* versyms = nullptr;
  if (table_type == SHT_DYNSYM)
    for (size_t i = 0; i < sections_.size(); ++i)
      if (sections_[i].type == SHT_GNU_versym) versyms = section_data(elf_.get(), section_indexes_[i]);
  for (size_t i = 0; i < sections_.size(); ++i) {
    const ElfSection& table = sections_[i];
    if (table.type != table_type || table.entsize == 0) continue;
    Elf_Data* data = section_data(elf_.get(), section_indexes_[i]);
    if (!data) continue;
    const size_t count = data->d_size / table.entsize;
    for (size_t k = 0; k < count; ++k) {
      GElf_Sym sym;
      if (!gelf_getsym(data, static_cast<int>(k), &sym)) break;
      const char* name = elf_strptr(elf_.get(), table.link, sym.st_name);
      GElf_Versym version = 0;
      if (versyms && !gelf_getversym(versyms, static_cast<int>(k), &version)) version = 0;
      ElfSymbol symbol{name ? std::string_view(name) : std::string_view(), sym.st_value, sym.st_size,
                       static_cast<unsigned char>(GELF_ST_TYPE(sym.st_info)),
                       static_cast<unsigned char>(GELF_ST_BIND(sym.st_info)), sym.st_shndx,
                       (version & kVersymHidden) != 0};
      if (!visit(symbol)) return;
    }
  }
}

}  // namespace credtrace::tls
