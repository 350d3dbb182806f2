// ELF64 function-symbol lookup: bounds-checked parsing of headers, symbol tables and PT_LOAD mapping.
#include "sensors/tls/elf_symbols.h"

#include <elf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <span>
#include <string_view>
#include <unordered_map>

#include "sensors/tls/file_handles.h"

namespace credtrace::tls {
namespace {

using Bytes = std::span<const uint8_t>;

constexpr Elf64_Half kVersymHidden = 0x8000;  // .gnu.version: non-default version (name@VER)

// Copies a T out of `bytes` at `offset` (memcpy: ELF data need not be aligned in a mapping).
template <typename T>
std::optional<T> read_at(Bytes bytes, uint64_t offset) {
  if (offset > bytes.size() || bytes.size() - offset < sizeof(T)) return std::nullopt;
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

// The `count`-th record of a table of `entsize`-byte entries starting at `base`.
template <typename T>
std::optional<T> read_entry(Bytes bytes, uint64_t base, uint64_t entsize, uint64_t index) {
  if (entsize < sizeof(T) || index > (UINT64_MAX - base) / entsize) return std::nullopt;
  return read_at<T>(bytes, base + index * entsize);
}

struct ElfImage {
  Bytes bytes;
  std::vector<Elf64_Phdr> loads;
  std::vector<Elf64_Shdr> sections;
};

bool valid_ident(const Elf64_Ehdr& eh) {
  return std::memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 && eh.e_ident[EI_CLASS] == ELFCLASS64 &&
         eh.e_ident[EI_DATA] == ELFDATA2LSB;
}

std::optional<std::vector<Elf64_Phdr>> read_loads(Bytes bytes, const Elf64_Ehdr& eh) {
  std::vector<Elf64_Phdr> loads;
  for (uint64_t i = 0; i < eh.e_phnum; ++i) {
    auto ph = read_entry<Elf64_Phdr>(bytes, eh.e_phoff, eh.e_phentsize, i);
    if (!ph) return std::nullopt;
    if (ph->p_type == PT_LOAD) loads.push_back(*ph);
  }
  return loads;
}

std::optional<std::vector<Elf64_Shdr>> read_sections(Bytes bytes, const Elf64_Ehdr& eh) {
  std::vector<Elf64_Shdr> sections;
  if (eh.e_shoff == 0) return sections;
  auto first = read_entry<Elf64_Shdr>(bytes, eh.e_shoff, eh.e_shentsize, 0);
  if (!first) return std::nullopt;
  // Extended numbering: e_shnum == 0 means the count is in section 0's sh_size.
  const uint64_t count = eh.e_shnum != 0 ? eh.e_shnum : first->sh_size;
  if (count > bytes.size() / sizeof(Elf64_Shdr)) return std::nullopt;
  for (uint64_t i = 0; i < count; ++i) {
    auto sh = read_entry<Elf64_Shdr>(bytes, eh.e_shoff, eh.e_shentsize, i);
    if (!sh) return std::nullopt;
    sections.push_back(*sh);
  }
  return sections;
}

std::optional<ElfImage> parse_image(Bytes bytes, std::string* error) {
  auto eh = read_at<Elf64_Ehdr>(bytes, 0);
  if (!eh || !valid_ident(*eh)) {
    if (error) *error = "not a little-endian ELF64 file";
    return std::nullopt;
  }
  auto loads = read_loads(bytes, *eh);
  auto sections = read_sections(bytes, *eh);
  if (!loads || !sections) {
    if (error) *error = "truncated or malformed ELF program/section headers";
    return std::nullopt;
  }
  return ElfImage{bytes, std::move(*loads), std::move(*sections)};
}

// File offset of `vaddr` through the PT_LOAD whose file image contains it.
std::optional<uint64_t> vaddr_to_offset(const ElfImage& image, uint64_t vaddr) {
  for (const auto& ph : image.loads) {
    if (vaddr >= ph.p_vaddr && vaddr - ph.p_vaddr < ph.p_filesz) return ph.p_offset + (vaddr - ph.p_vaddr);
  }
  return std::nullopt;
}

// The NUL-terminated string at `offset` inside string-table section `strtab`.
std::optional<std::string_view> string_at(const ElfImage& image, const Elf64_Shdr& strtab, uint64_t offset) {
  if (strtab.sh_offset > image.bytes.size() || strtab.sh_size > image.bytes.size() - strtab.sh_offset ||
      offset >= strtab.sh_size)
    return std::nullopt;
  const char* begin = reinterpret_cast<const char*>(image.bytes.data() + strtab.sh_offset + offset);
  const size_t room = strtab.sh_size - offset;
  const void* nul = std::memchr(begin, '\0', room);
  if (!nul) return std::nullopt;
  return std::string_view(begin, static_cast<const char*>(nul) - begin);
}

// Index of the SHT_GNU_versym section that parallels .dynsym, if any.
std::optional<size_t> versym_section(const ElfImage& image) {
  for (size_t i = 0; i < image.sections.size(); ++i) {
    if (image.sections[i].sh_type == SHT_GNU_versym) return i;
  }
  return std::nullopt;
}

// 0 = default version (or unversioned); 1 = hidden / non-default ("name@VER", versym hidden bit).
int version_rank(const ElfImage& image, std::string_view full_name, std::optional<size_t> versym,
                 uint64_t sym_index) {
  const size_t at = full_name.find('@');
  if (at != std::string_view::npos && full_name.substr(at, 2) != "@@") return 1;
  if (!versym) return 0;
  const auto& vs = image.sections[*versym];
  auto ver = read_entry<Elf64_Half>(image.bytes, vs.sh_offset, sizeof(Elf64_Half), sym_index);
  if (ver && sym_index * sizeof(Elf64_Half) < vs.sh_size && (*ver & kVersymHidden)) return 1;
  return 0;
}

struct Candidate {
  ElfFunction fn;
  int rank = 0;
  bool found = false;
};

bool is_defined_function(const Elf64_Sym& sym) {
  return ELF64_ST_TYPE(sym.st_info) == STT_FUNC && sym.st_shndx != SHN_UNDEF && sym.st_value != 0;
}

using Wanted = std::unordered_map<std::string, size_t>;  // base name → index into candidates

void offer(Candidate& c, const std::string& name, const Elf64_Sym& sym, uint64_t offset, int rank) {
  if (c.found && c.rank <= rank) return;
  c.fn = ElfFunction{name, offset, sym.st_value, sym.st_size};
  c.rank = rank;
  c.found = true;
}

// Scans one SHT_DYNSYM/SHT_SYMTAB section, filling candidates for names not found in earlier tables.
void scan_table(const ElfImage& image, const Elf64_Shdr& table, const Wanted& wanted,
                const std::vector<bool>& settled, std::vector<Candidate>& out) {
  if (table.sh_link >= image.sections.size() || table.sh_entsize < sizeof(Elf64_Sym)) return;
  const Elf64_Shdr& strtab = image.sections[table.sh_link];
  const auto versym = table.sh_type == SHT_DYNSYM ? versym_section(image) : std::nullopt;
  const uint64_t count = table.sh_size / table.sh_entsize;
  for (uint64_t i = 0; i < count; ++i) {
    auto sym = read_entry<Elf64_Sym>(image.bytes, table.sh_offset, table.sh_entsize, i);
    if (!sym) return;
    if (!is_defined_function(*sym)) continue;
    auto full = string_at(image, strtab, sym->st_name);
    if (!full || full->empty()) continue;
    auto it = wanted.find(std::string(full->substr(0, full->find('@'))));
    if (it == wanted.end() || settled[it->second]) continue;
    auto offset = vaddr_to_offset(image, sym->st_value);
    if (!offset) continue;
    offer(out[it->second], it->first, *sym, *offset, version_rank(image, *full, versym, i));
  }
}

void scan_tables_of_type(const ElfImage& image, uint32_t type, const Wanted& wanted,
                         std::vector<Candidate>& out) {
  std::vector<bool> settled(out.size());
  for (size_t i = 0; i < out.size(); ++i) settled[i] = out[i].found;
  for (const auto& sh : image.sections) {
    if (sh.sh_type == type) scan_table(image, sh, wanted, settled, out);
  }
}

}  // namespace

std::optional<std::vector<ElfFunction>> find_functions(const std::string& path,
                                                       const std::vector<std::string>& names,
                                                       std::string* error) {
  auto file = MappedFile::map(path, error);
  if (!file) return std::nullopt;
  auto image = parse_image(file->bytes(), error);
  if (!image) {
    if (error) *error = path + ": " + *error;
    return std::nullopt;
  }
  Wanted wanted;
  for (const auto& name : names) wanted.emplace(name, wanted.size());
  std::vector<Candidate> candidates(wanted.size());
  scan_tables_of_type(*image, SHT_DYNSYM, wanted, candidates);
  scan_tables_of_type(*image, SHT_SYMTAB, wanted, candidates);

  std::vector<ElfFunction> found;
  std::vector<bool> emitted(candidates.size());
  for (const auto& name : names) {
    const size_t i = wanted.at(name);
    if (candidates[i].found && !emitted[i]) found.push_back(candidates[i].fn);
    emitted[i] = true;
  }
  return found;
}

std::optional<std::vector<uint8_t>> read_function_bytes(const std::string& path, const ElfFunction& f,
                                                        size_t max_bytes) {
  UniqueFd fd = open_read_only(path, nullptr);
  if (!fd.valid() || max_bytes == 0) return std::nullopt;
  const size_t want = f.size ? static_cast<size_t>(std::min<uint64_t>(f.size, max_bytes)) : max_bytes;
  std::vector<uint8_t> out(want);
  size_t got = 0;
  while (got < want) {
    const ssize_t n = ::pread(fd.get(), out.data() + got, want - got, static_cast<off_t>(f.file_offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  if (got == 0) return std::nullopt;
  out.resize(got);
  return out;
}

}  // namespace credtrace::tls
