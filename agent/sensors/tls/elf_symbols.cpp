// ELF64 function-symbol lookup on libelf (elf_file.h): .dynsym then .symtab, default versions first.
#include "sensors/tls/elf_symbols.h"

#include <elf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <unordered_map>

#include "sensors/tls/elf_file.h"
#include "sensors/tls/file_handles.h"

namespace credtrace::tls {
namespace {

struct Candidate {
  ElfFunction fn;
  int rank = 0;  // 0: default version or unversioned; 1: hidden / non-default ("name@VER")
  bool found = false;
};

using Wanted = std::unordered_map<std::string, size_t>;  // base name → index into candidates

bool is_defined_function(const ElfSymbol& sym) {
  return sym.type == STT_FUNC && sym.section != SHN_UNDEF && sym.value != 0 && !sym.name.empty();
}

int version_rank(const ElfSymbol& sym) {
  const size_t at = sym.name.find('@');
  if (at != std::string_view::npos && sym.name.substr(at, 2) != "@@") return 1;
  return sym.hidden_version ? 1 : 0;
}

// One table type: fills candidates for names not found in an earlier table type.
void scan_tables_of_type(const ElfFile& elf, uint32_t type, const Wanted& wanted, std::vector<Candidate>& out) {
  std::vector<bool> settled(out.size());
  for (size_t i = 0; i < out.size(); ++i) settled[i] = out[i].found;
  elf.for_each_symbol(type, [&](const ElfSymbol& sym) {
    if (!is_defined_function(sym)) return true;
    auto it = wanted.find(std::string(sym.name.substr(0, sym.name.find('@'))));
    if (it == wanted.end() || settled[it->second]) return true;
    auto offset = elf.vaddr_to_offset(sym.value);
    if (!offset) return true;
    Candidate& c = out[it->second];
    const int rank = version_rank(sym);
    if (!c.found || rank < c.rank) c = {ElfFunction{it->first, *offset, sym.value, sym.size}, rank, true};
    return true;
  });
}

}  // namespace

std::optional<std::vector<ElfFunction>> find_functions(const std::string& path,
                                                       const std::vector<std::string>& names,
                                                       std::string* error) {
  auto elf = ElfFile::open(path, error);
  if (!elf) return std::nullopt;
  return find_functions(*elf, names);
}

std::vector<ElfFunction> find_functions(const ElfFile& elf, const std::vector<std::string>& names) {
  Wanted wanted;
  for (const auto& name : names) wanted.emplace(name, wanted.size());
  std::vector<Candidate> candidates(wanted.size());
  scan_tables_of_type(elf, SHT_DYNSYM, wanted, candidates);
  scan_tables_of_type(elf, SHT_SYMTAB, wanted, candidates);

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
