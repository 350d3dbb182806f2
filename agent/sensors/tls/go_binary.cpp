// Go executables: .go.buildinfo version, pclntab location and header validation (1.16-1.27), functab walk by name,
// and RET sites by full instruction decoding (Zydis).
#include "sensors/tls/go_binary.h"

#include <Zydis/Zydis.h>
#include <elf.h>

#include <algorithm>
#include <cstring>
#include <string_view>

#include "sensors/tls/x86_decode.h"

namespace credtrace::tls {
namespace {

constexpr uint32_t kMagic116 = 0xfffffffa;  // Go 1.16, 1.17: functab entries are absolute uintptr pairs
constexpr uint32_t kMagic118 = 0xfffffff0;  // Go 1.18, 1.19: entry offsets from textStart (uint32 pairs)
constexpr uint32_t kMagic120 = 0xfffffff1;  // Go 1.20 and later (1.26+: textStart is 0, see .go.module)
constexpr uint64_t kModuleTextWord = 22;    // runtime.moduledata.text, word 22 of .go.module (Go 1.26, 1.27)
constexpr std::string_view kBuildInfoMagic = "\xff Go buildinf:";
constexpr uint64_t kMaxFunctions = 10'000'000;
constexpr size_t kMaxName = 4096;
constexpr size_t kMaxScannedCandidates = 64;

uint64_t load_u64(std::span<const uint8_t> bytes, size_t at) {
  uint64_t v = 0;
  if (at <= bytes.size() && bytes.size() - at >= sizeof v) std::memcpy(&v, bytes.data() + at, sizeof v);
  return v;
}

uint32_t load_u32(std::span<const uint8_t> bytes, size_t at) {
  uint32_t v = 0;
  if (at <= bytes.size() && bytes.size() - at >= sizeof v) std::memcpy(&v, bytes.data() + at, sizeof v);
  return v;
}

// A pointer stored in the file at `vaddr`: its bytes, or in a PIE (where they are 0) its RELATIVE relocation.
uint64_t pointer_at(const ElfFile& elf, uint64_t vaddr) {
  const uint64_t stored = load_u64(elf.bytes_at_vaddr(vaddr, 8), 0);
  if (stored != 0) return stored;
  return elf.relative_relocation_at(vaddr).value_or(0);
}

struct Header {
  uint32_t magic = 0;
  uint64_t nfunc = 0, text_start_word_vaddr = 0, funcname = 0, pcln = 0;
};

// The pclntab header at the start of `tab` (which runs to the end of its section or segment), checked so that a
// random match of the magic is refused: pads, instruction size quantum, pointer size, offsets inside the table.
std::optional<Header> parse_header(std::span<const uint8_t> tab, uint64_t vaddr, std::string* why_not) {
  auto refuse = [&](const std::string& why) -> std::optional<Header> {
    if (why_not) *why_not = "pclntab header refused: " + why;
    return std::nullopt;
  };
  if (tab.size() < 72) return refuse("too short");
  Header h;
  h.magic = load_u32(tab, 0);
  if (h.magic != kMagic116 && h.magic != kMagic118 && h.magic != kMagic120) return refuse("unknown magic");
  if (tab[4] != 0 || tab[5] != 0 || tab[6] != 1 || tab[7] != 8) return refuse("not an x86-64 table");
  h.nfunc = load_u64(tab, 8);
  if (h.magic == kMagic116) {
    h.funcname = load_u64(tab, 24);
    h.pcln = load_u64(tab, 56);
  } else {
    h.text_start_word_vaddr = vaddr + 24;
    h.funcname = load_u64(tab, 32);
    h.pcln = load_u64(tab, 64);
  }
  const uint64_t entry_size = h.magic == kMagic116 ? 16 : 8;
  if (h.nfunc == 0 || h.nfunc > kMaxFunctions) return refuse("function count " + std::to_string(h.nfunc));
  if (h.funcname >= tab.size() || h.pcln >= tab.size() || (h.nfunc + 1) * entry_size > tab.size() - h.pcln)
    return refuse("offsets outside the table");
  return h;
}

struct Located {
  std::span<const uint8_t> tab;
  uint64_t vaddr = 0;
  std::string found_by;
};

// The bytes from `vaddr` to the end of its PT_LOAD's file image.
Located located_at(const ElfFile& elf, uint64_t vaddr, std::string found_by) {
  return {elf.bytes_at_vaddr(vaddr, SIZE_MAX), vaddr, std::move(found_by)};
}

// Candidates in order of trust: the module data's pointer (Go 1.26+), the section the linker names, then the magic
// at an 8-aligned place of a data section (PIE and stripped binaries that dropped the name).
std::vector<Located> named_candidates(const ElfFile& elf) {
  std::vector<Located> out;
  if (const ElfSection* module = elf.section(".go.module"); module && module->addr)
    if (uint64_t header = pointer_at(elf, module->addr)) out.push_back(located_at(elf, header, ".go.module"));
  for (const char* name : {".gopclntab", ".data.rel.ro.gopclntab"})  // the PIE linker's name for it
    if (const ElfSection* s = elf.section(name); s && s->addr) out.push_back({elf.section_bytes(*s), s->addr, name});
  return out;
}

// Every 8-aligned place of a loaded, non-executable section that starts like a pclntab header.
std::vector<Located> scanned_candidates(const ElfFile& elf) {
  std::vector<Located> out;
  for (const ElfSection& s : elf.sections()) {
    if (!s.addr || s.type != SHT_PROGBITS || !(s.flags & SHF_ALLOC) || (s.flags & SHF_EXECINSTR)) continue;
    std::span<const uint8_t> bytes = elf.section_bytes(s);
    for (size_t at = 0; at + 8 <= bytes.size(); at += 8) {
      const uint32_t magic = load_u32(bytes, at);
      if ((magic == kMagic120 || magic == kMagic118 || magic == kMagic116) && bytes[at + 4] == 0 && bytes[at + 5] == 0)
        out.push_back({bytes.subspan(at), s.addr + at, "magic in " + s.name});
      if (out.size() >= kMaxScannedCandidates) return out;  // a file crafted full of headers costs no more
    }
  }
  return out;
}

uint64_t text_start(const ElfFile& elf, const Header& h) {
  if (h.magic == kMagic116) return 0;
  if (uint64_t start = pointer_at(elf, h.text_start_word_vaddr)) return start;
  if (const ElfSection* module = elf.section(".go.module"); module && module->addr)
    return pointer_at(elf, module->addr + kModuleTextWord * 8);
  return 0;
}

std::string_view name_at(std::span<const uint8_t> tab, uint64_t funcname, int64_t name_off) {
  if (name_off < 0 || funcname + static_cast<uint64_t>(name_off) >= tab.size()) return {};
  const auto* begin = reinterpret_cast<const char*>(tab.data() + funcname + name_off);
  const size_t room = std::min<size_t>(kMaxName, tab.size() - funcname - static_cast<size_t>(name_off));
  const void* nul = std::memchr(begin, '\0', room);
  return nul ? std::string_view(begin, static_cast<const char*>(nul) - begin) : std::string_view();
}

// Walks the functab: visit(entry vaddr, next entry vaddr, name) for each function.
template <typename Visit>
void walk_functions(const ElfFile& elf, const GoTable& table, Visit visit) {
  Located where = located_at(elf, table.pclntab_vaddr, table.found_by);
  for (const char* name : {".gopclntab", ".data.rel.ro.gopclntab"})
    if (const ElfSection* s = elf.section(name); s && s->addr == table.pclntab_vaddr) where.tab = elf.section_bytes(*s);
  std::string ignored;
  auto h = parse_header(where.tab, where.vaddr, &ignored);
  if (!h) return;
  const std::span<const uint8_t> tab = where.tab;
  const uint64_t functab = h->pcln;
  const bool absolute = h->magic == kMagic116;
  const uint64_t entry_size = absolute ? 16 : 8;
  auto entry_of = [&](uint64_t i) {
    if (absolute) {
      const uint64_t at = functab + i * entry_size;
      uint64_t v = load_u64(tab, at);
      return v ? v : elf.relative_relocation_at(table.pclntab_vaddr + at).value_or(0);
    }
    return table.text_start + load_u32(tab, functab + i * entry_size);
  };
  for (uint64_t i = 0; i < h->nfunc; ++i) {
    const uint64_t funcoff = absolute ? load_u64(tab, functab + i * 16 + 8) : load_u32(tab, functab + i * 8 + 4);
    const uint64_t func = functab + funcoff;
    if (func + 12 > tab.size()) return;  // a corrupt entry ends the walk (and bounds a stray header's cost)
    const int32_t name_off = static_cast<int32_t>(load_u32(tab, func + (absolute ? 8 : 4)));
    if (!visit(entry_of(i), entry_of(i + 1), name_at(tab, h->funcname, name_off))) return;
  }
}

}  // namespace

bool is_go_binary(const ElfFile& elf) {
  return elf.section(".go.buildinfo") || elf.section(".gopclntab") || elf.section(".note.go.buildid") ||
         elf.section(".go.module");
}

std::string go_version(const ElfFile& elf) {
  std::span<const uint8_t> info;
  if (const ElfSection* s = elf.section(".go.buildinfo")) info = elf.section_bytes(*s);
  if (info.size() < 32 || std::memcmp(info.data(), kBuildInfoMagic.data(), kBuildInfoMagic.size()) != 0) return "";
  const uint8_t pointer_size = info[14], flags = info[15];
  if (flags & 2) {  // Go 1.18+: the version inline at 32 as a uvarint length and its bytes
    uint64_t length = 0;
    size_t at = 32;
    for (int shift = 0; at < info.size() && shift < 64; shift += 7) {
      const uint8_t b = info[at++];
      length |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) break;
    }
    if (length == 0 || length > 64 || length > info.size() - at) return "";
    return std::string(reinterpret_cast<const char*>(info.data() + at), length);
  }
  if (pointer_size != 8) return "";
  // Go 1.13-1.17: a pointer to the version's string header (pointer, length).
  const uint64_t header = load_u64(info, 16);
  const std::span<const uint8_t> string_header = elf.bytes_at_vaddr(header, 16);
  const uint64_t data = load_u64(string_header, 0), length = load_u64(string_header, 8);
  if (length == 0 || length > 64) return "";
  const std::span<const uint8_t> text = elf.bytes_at_vaddr(data, length);
  return text.size() == length ? std::string(reinterpret_cast<const char*>(text.data()), length) : "";
}

std::optional<GoTable> read_go_table(const ElfFile& elf, std::string* why_not) {
  if (!is_go_binary(elf)) {
    if (why_not) *why_not = "not a Go binary (no .go.buildinfo, .gopclntab, .go.module or Go build id)";
    return std::nullopt;
  }
  std::string last_refusal = "no Go function table (pclntab) in the file";
  std::vector<Located> all = named_candidates(elf);
  bool scanned = false;
  for (size_t i = 0; i < all.size() || !scanned; ++i) {
    if (i == all.size()) {  // nothing named worked: look for the magic
      scanned = true;
      std::vector<Located> more = scanned_candidates(elf);
      all.insert(all.end(), more.begin(), more.end());
      if (i == all.size()) break;
    }
    const Located& where = all[i];
    auto h = parse_header(where.tab, where.vaddr, &last_refusal);
    if (!h) continue;
    GoTable table;
    table.version = go_version(elf);
    table.magic = h->magic;
    table.pclntab_vaddr = where.vaddr;
    table.found_by = where.found_by;
    table.function_count = h->nfunc;
    table.text_start = text_start(elf, *h);
    if (h->magic != kMagic116 && table.text_start == 0) {
      last_refusal = "pclntab at " + where.found_by + ": the text start is unknown (no header value, no .go.module)";
      continue;
    }
    // The first function must lie in an executable segment: a stray magic in data fails here.
    bool plausible = false;
    walk_functions(elf, table, [&](uint64_t entry, uint64_t, std::string_view) {
      for (const auto& load : elf.loads())
        if ((load.flags & PF_X) && entry >= load.vaddr && entry - load.vaddr < load.memsz) plausible = true;
      return false;
    });
    if (!plausible) {
      last_refusal = "pclntab at " + where.found_by + ": its first function is outside the executable segments";
      continue;
    }
    return table;
  }
  if (why_not) *why_not = last_refusal;
  return std::nullopt;
}

std::vector<GoFunction> find_go_functions(const ElfFile& elf, const GoTable& table, const std::string& name) {
  std::vector<GoFunction> out;
  walk_functions(elf, table, [&](uint64_t entry, uint64_t next, std::string_view fn_name) {
    if (fn_name != name) return true;
    const auto offset = elf.vaddr_to_offset(entry);
    if (offset && next > entry) out.push_back({name, entry, *offset, next - entry});
    return true;
  });
  return out;
}

std::optional<GoFunction> find_go_function(const ElfFile& elf, const GoTable& table, const std::string& name) {
  std::vector<GoFunction> all = find_go_functions(elf, table, name);
  if (all.empty()) return std::nullopt;
  return *std::max_element(all.begin(), all.end(), [](const GoFunction& a, const GoFunction& b) { return a.size < b.size; });
}

namespace {

// Registers of Go's register ABI that hold arguments, and g.
bool is_protected_register(ZydisRegister reg) {
  switch (ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, reg)) {
    case ZYDIS_REGISTER_RAX: case ZYDIS_REGISTER_RBX: case ZYDIS_REGISTER_RCX: case ZYDIS_REGISTER_RDI:
    case ZYDIS_REGISTER_RSI: case ZYDIS_REGISTER_R8: case ZYDIS_REGISTER_R9: case ZYDIS_REGISTER_R10:
    case ZYDIS_REGISTER_R11: case ZYDIS_REGISTER_R14:
      return true;
    default:
      return false;
  }
}

bool writes_protected_register(const ZydisDecodedInstruction& insn, const ZydisDecodedOperand* operands) {
  for (uint8_t i = 0; i < insn.operand_count; ++i)
    if (operands[i].type == ZYDIS_OPERAND_TYPE_REGISTER && (operands[i].actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) &&
        is_protected_register(operands[i].reg.value))
      return true;
  return false;
}

// cmp against g.stackguard0 (0x10(%r14)): Go's stack check.
bool compares_stack_guard(const ZydisDecodedInstruction& insn, const ZydisDecodedOperand* operands) {
  for (uint8_t i = 0; i < insn.operand_count; ++i)
    if (operands[i].type == ZYDIS_OPERAND_TYPE_MEMORY && operands[i].mem.base == ZYDIS_REGISTER_R14 &&
        operands[i].mem.disp.value == 0x10)
      return true;
  return false;
}

std::optional<size_t> first_emulated_on_straight_line(const ZydisDecoder& decoder, std::span<const uint8_t> code,
                                                      size_t at) {
  for (int n = 0; n < 16 && at < code.size(); ++n) {
    if (auto mine = decode_x86_64(code.subspan(at)); mine && mine->uprobe_emulated) return at;
    ZydisDecodedInstruction insn;
    ZydisDecodedOperand operands[ZYDIS_MAX_OPERAND_COUNT];
    if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&decoder, code.data() + at, code.size() - at, &insn, operands)))
      return std::nullopt;
    const auto category = insn.meta.category;
    if (writes_protected_register(insn, operands) || category == ZYDIS_CATEGORY_COND_BR ||
        category == ZYDIS_CATEGORY_UNCOND_BR || category == ZYDIS_CATEGORY_CALL || category == ZYDIS_CATEGORY_RET ||
        category == ZYDIS_CATEGORY_INTERRUPT)
      return std::nullopt;  // a branch the kernel would single-step, or the arguments are gone
    at += insn.length;
  }
  return std::nullopt;
}

// Where the function's relative jumps land inside it (function offsets); nullopt when an instruction does not decode.
std::optional<std::vector<size_t>> jump_targets(const ZydisDecoder& decoder, std::span<const uint8_t> code) {
  std::vector<size_t> targets;
  for (size_t at = 0; at < code.size();) {
    ZydisDecodedInstruction insn;
    ZydisDecodedOperand operands[ZYDIS_MAX_OPERAND_COUNT];
    if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&decoder, code.data() + at, code.size() - at, &insn, operands)))
      return std::nullopt;
    const size_t next = at + insn.length;
    const auto category = insn.meta.category;
    if ((category == ZYDIS_CATEGORY_COND_BR || category == ZYDIS_CATEGORY_UNCOND_BR) && insn.operand_count > 0 &&
        operands[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
      const int64_t target = static_cast<int64_t>(next) + operands[0].imm.value.s;
      if (target >= 0 && static_cast<uint64_t>(target) < code.size()) targets.push_back(static_cast<size_t>(target));
    }
    at = next;
  }
  return targets;
}

}  // namespace

std::optional<GoProbePoint> go_entry_probe(const ElfFile& elf, const GoFunction& fn, std::string* why_not) {
  const std::span<const uint8_t> code = elf.bytes_at_vaddr(fn.vaddr, fn.size);
  ZydisDecoder decoder;
  if (code.size() != fn.size || !ZYAN_SUCCESS(ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64))) {
    if (why_not) *why_not = fn.name + ": its code is not in the file";
    return std::nullopt;
  }
  std::optional<size_t> check_end;
  size_t at = 0;
  bool saw_stack_guard = false;
  for (int n = 0; n < 8 && at < code.size(); ++n) {
    ZydisDecodedInstruction insn;
    ZydisDecodedOperand operands[ZYDIS_MAX_OPERAND_COUNT];
    if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&decoder, code.data() + at, code.size() - at, &insn, operands))) break;
    if (writes_protected_register(insn, operands)) break;
    const size_t next = at + insn.length;
    if (insn.mnemonic == ZYDIS_MNEMONIC_CMP && compares_stack_guard(insn, operands)) saw_stack_guard = true;
    if (saw_stack_guard && insn.meta.category == ZYDIS_CATEGORY_COND_BR &&
        operands[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
      // The check's branch goes forward to the morestack call at the function's end.
      const int64_t target = static_cast<int64_t>(next) + operands[0].imm.value.s;
      if (target > static_cast<int64_t>(next) && static_cast<uint64_t>(target) < fn.size) check_end = next;
      break;
    }
    at = next;
  }
  // Without it this is not register-ABI Go code (Go 1.16 passes arguments on the stack and checks the stack through
  // %fs): a probe before the check would fire twice when the stack grows, so nothing is probed.
  if (!check_end) {
    if (why_not) *why_not = fn.name + ": no register-ABI stack check (cmp 0x10(%r14) and its branch to morestack)";
    return std::nullopt;
  }
  const std::optional<std::vector<size_t>> targets = jump_targets(decoder, code);
  if (!targets) {
    if (why_not) *why_not = fn.name + ": an instruction does not decode";
    return std::nullopt;
  }
  auto jumped_to_within = [&](size_t from, size_t to) {  // a jump lands in [from, to]: a loop would re-run the probe
    return std::any_of(targets->begin(), targets->end(), [&](size_t t) { return t >= from && t <= to; });
  };
  if (jumped_to_within(*check_end, *check_end)) {
    if (why_not) *why_not = fn.name + ": a jump returns to the instruction after the stack check";
    return std::nullopt;
  }
  // Go before 1.21 (sub $N,%rsp; mov %rbp,...) has no push there: the first emulated instruction on the straight
  // line from there on (a jcc or call rel32, probed before it branches), up to which no argument register changed
  // and into which no jump leads back.
  size_t probe_at = *check_end;
  if (auto later = first_emulated_on_straight_line(decoder, code, *check_end);
      later && !jumped_to_within(*check_end, *later))
    probe_at = *later;
  GoProbePoint point;
  point.function_offset = probe_at;
  point.file_offset = fn.file_offset + probe_at;
  if (auto insn = decode_x86_64(code.subspan(probe_at))) {
    point.emulated = insn->uprobe_emulated;
    point.instruction = insn->text;
  } else {
    point.instruction = "undecoded";
  }
  return point;
}

std::optional<std::vector<uint64_t>> go_function_returns(const ElfFile& elf, const GoFunction& fn, std::string* why_not) {
  const std::span<const uint8_t> code = elf.bytes_at_vaddr(fn.vaddr, fn.size);
  if (code.size() != fn.size) {
    if (why_not) *why_not = fn.name + ": its code is not in the file";
    return std::nullopt;
  }
  ZydisDecoder decoder;
  if (!ZYAN_SUCCESS(ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64))) {
    if (why_not) *why_not = "the x86-64 decoder did not start";
    return std::nullopt;
  }
  std::vector<uint64_t> returns;
  for (size_t at = 0; at < code.size();) {
    ZydisDecodedInstruction insn;
    if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&decoder, nullptr, code.data() + at, code.size() - at, &insn))) {
      if (why_not) *why_not = fn.name + ": undecodable instruction at +" + std::to_string(at);
      return std::nullopt;
    }
    if (insn.mnemonic == ZYDIS_MNEMONIC_RET) returns.push_back(fn.file_offset + at);
    at += insn.length;
  }
  return returns;
}

}  // namespace credtrace::tls
