// BoringSSL's SSL_write/SSL_read found by symbol or by the OPENSSL_PUT_ERROR sites of ssl_lib.cc (Zydis decoding).
#include "sensors/tls/boringssl_locator.h"

#include <Zydis/Zydis.h>
#include <elf.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <sstream>
#include <string_view>
#include <vector>

#include "sensors/tls/x86_decode.h"

namespace credtrace::tls {
namespace {

constexpr std::string_view kSslLibFile = "ssl/ssl_lib.cc";                 // the tail of BoringSSL's __FILE__
constexpr std::string_view kBoringSslLibFile = "boringssl/ssl/ssl_lib.cc";  // what has_boringssl() looks for
constexpr std::string_view kIsBoringSsl = "openssl_is_boringssl";

constexpr uint32_t kErrLibSsl = 16;                     // ERR_LIB_SSL: OPENSSL_PUT_ERROR(SSL, …) passes it in edi
constexpr uint32_t kShouldNotHaveBeenCalled = 66;       // ERR_R_SHOULD_NOT_HAVE_BEEN_CALLED (QUIC connections)
constexpr uint32_t kUninitialized = 226;                // SSL_R_UNINITIALIZED
constexpr uint32_t kHandshakeFailure = 215;             // SSL_R_SSL_HANDSHAKE_FAILURE
constexpr uint32_t kBadLength = 111;                    // SSL_R_BAD_LENGTH
const std::vector<uint32_t> kSslWriteReasons = {kShouldNotHaveBeenCalled, kUninitialized, kHandshakeFailure, kBadLength};
const std::vector<uint32_t> kSslReadImplReasons = {kUninitialized, kHandshakeFailure};
const std::vector<uint32_t> kSslReadReasons = {kShouldNotHaveBeenCalled};

constexpr size_t kMaxFileStrings = 8;           // copies of the ssl_lib.cc string considered
constexpr size_t kMaxStringLength = 512;        // how far back the start of a __FILE__ string is looked for
constexpr size_t kMaxSites = 4096;              // OPENSSL_PUT_ERROR sites referencing ssl_lib.cc
constexpr size_t kMaxSiteInstructions = 8;      // from the file operand to the call of ERR_put_error
constexpr size_t kSiteWindow = 64;              // bytes decoded for one site
constexpr uint64_t kFunctionAlignment = 16;
constexpr uint64_t kMaxFunctionWalkBack = 64 * 1024;  // from a site back to its function's start
constexpr size_t kMaxFunctionScan = 16 * 1024;        // bytes of a function decoded for its direct calls
constexpr uint8_t kInt3 = 0xcc;

struct Decoder {
  ZydisDecoder zydis;
  bool ready = false;
  Decoder() { ready = ZYAN_SUCCESS(ZydisDecoderInit(&zydis, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64)); }
};

struct Decoded {
  ZydisDecodedInstruction insn;
  ZydisDecodedOperand operands[ZYDIS_MAX_OPERAND_COUNT];
};

std::optional<Decoded> decode_at(const Decoder& decoder, std::span<const uint8_t> code, size_t at) {
  Decoded d;
  if (at >= code.size() ||
      !ZYAN_SUCCESS(ZydisDecoderDecodeFull(&decoder.zydis, code.data() + at, code.size() - at, &d.insn, d.operands)))
    return std::nullopt;
  return d;
}

// The target of a direct (relative) call or jmp at `vaddr`, else nullopt.
std::optional<uint64_t> branch_target(const Decoded& d, uint64_t vaddr) {
  if (d.insn.operand_count_visible < 1 || d.operands[0].type != ZYDIS_OPERAND_TYPE_IMMEDIATE ||
      !d.operands[0].imm.is_relative)
    return std::nullopt;
  ZyanU64 target = 0;
  if (!ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&d.insn, &d.operands[0], vaddr, &target))) return std::nullopt;
  return target;
}

std::nullopt_t refuse(std::string* mismatch, std::string why) {
  *mismatch = std::move(why);
  return std::nullopt;
}

std::string hex(uint64_t v) {
  std::ostringstream out;
  out << "0x" << std::hex << v;
  return out.str();
}

std::string join(const std::vector<uint32_t>& values) {
  std::string out;
  for (uint32_t v : values) out += (out.empty() ? "" : ",") + std::to_string(v);
  return out;
}

uint32_t load_u32(const uint8_t* p) {
  uint32_t v = 0;
  std::memcpy(&v, p, sizeof v);
  return v;
}

bool is_data_section(const ElfSection& s) {
  return s.type == SHT_PROGBITS && (s.flags & SHF_ALLOC) && !(s.flags & SHF_EXECINSTR);
}

bool is_code_section(const ElfSection& s) {
  return s.type == SHT_PROGBITS && (s.flags & SHF_ALLOC) && (s.flags & SHF_EXECINSTR);
}

const ElfSection* code_section_holding(const ElfFile& elf, uint64_t vaddr) {
  for (const ElfSection& s : elf.sections())
    if (is_code_section(s) && vaddr >= s.addr && vaddr - s.addr < s.size) return &s;
  return nullptr;
}

// Calls `visit(bytes, position)` for every occurrence of `needle` in `haystack`; stops when it returns false.
template <typename Visit>
void for_each_occurrence(std::span<const uint8_t> haystack, std::string_view needle, Visit visit) {
  const auto* begin = haystack.data();
  const auto* end = begin + haystack.size();
  for (const auto* at = begin; at < end;) {
    const void* hit = memmem(at, static_cast<size_t>(end - at), needle.data(), needle.size());
    if (!hit) return;
    const auto* found = static_cast<const uint8_t*>(hit);
    if (!visit(static_cast<size_t>(found - begin))) return;
    at = found + 1;
  }
}

bool data_sections_contain(const ElfFile& elf, std::string_view needle) {
  for (const ElfSection& s : elf.sections()) {
    if (!is_data_section(s)) continue;
    bool found = false;
    for_each_occurrence(elf.section_bytes(s), needle, [&](size_t) { return !(found = true); });
    if (found) return true;
  }
  return false;
}

bool has_symbol(const ElfFile& elf, std::string_view name) {
  bool found = false;
  for (uint32_t table : {SHT_DYNSYM, SHT_SYMTAB}) {
    elf.for_each_symbol(table, [&](const ElfSymbol& sym) {
      found = sym.section != SHN_UNDEF && sym.name.substr(0, sym.name.find('@')) == name;
      return !found;
    });
    if (found) return true;
  }
  return false;
}

// ---- by symbols --------------------------------------------------------------------------------------------------

std::optional<uint64_t> defined_function(const ElfFile& elf, uint32_t table, std::string_view name) {
  std::optional<uint64_t> vaddr;
  elf.for_each_symbol(table, [&](const ElfSymbol& sym) {
    if (sym.type == STT_FUNC && sym.section != SHN_UNDEF && sym.value != 0 && !sym.hidden_version &&
        sym.name.substr(0, sym.name.find('@')) == name)
      vaddr = sym.value;
    return !vaddr;
  });
  return vaddr;
}

std::optional<BoringSslFunctions> locate_by_symbols(const ElfFile& elf) {
  for (auto [table, label] : {std::pair{SHT_DYNSYM, ".dynsym"}, std::pair{SHT_SYMTAB, ".symtab"}}) {
    auto write = defined_function(elf, table, "SSL_write");
    auto read = defined_function(elf, table, "SSL_read");
    if (!write || !read) continue;
    auto write_offset = elf.vaddr_to_offset(*write);
    auto read_offset = elf.vaddr_to_offset(*read);
    if (!write_offset || !read_offset) continue;
    return BoringSslFunctions{*write, *write_offset, *read, *read_offset, std::string("symbols (") + label + ")"};
  }
  return std::nullopt;
}

// ---- by the OPENSSL_PUT_ERROR signature --------------------------------------------------------------------------

// Virtual addresses of the NUL-terminated strings ending in "ssl/ssl_lib.cc" (the whole __FILE__ string's start).
std::vector<uint64_t> ssl_lib_file_strings(const ElfFile& elf) {
  const std::string needle = std::string(kSslLibFile) + '\0';
  std::set<uint64_t> starts;
  for (const ElfSection& s : elf.sections()) {
    if (!is_data_section(s) || s.addr == 0) continue;
    const std::span<const uint8_t> bytes = elf.section_bytes(s);
    for_each_occurrence(bytes, needle, [&](size_t at) {
      size_t start = at;
      while (start > 0 && at - start < kMaxStringLength && bytes[start - 1] != 0) --start;
      starts.insert(s.addr + start);
      return starts.size() < kMaxFileStrings;
    });
  }
  return {starts.begin(), starts.end()};
}

// Sites loading a file string into ecx, the 4th argument of ERR_put_error: `mov ecx, imm32` (b9 imm32, non-PIE
// only) or `lea rcx, [rip+disp32]` (48 8d 0d disp32).
std::vector<uint64_t> file_operand_sites(const ElfFile& elf, const std::vector<uint64_t>& strings) {
  std::vector<uint64_t> sites;
  const std::set<uint64_t> wanted(strings.begin(), strings.end());
  auto room = [&] { return sites.size() < kMaxSites; };
  for (const ElfSection& s : elf.sections()) {
    if (!is_code_section(s)) continue;
    const std::span<const uint8_t> code = elf.section_bytes(s);
    for (uint64_t str : strings) {
      if (elf.position_independent() || str > UINT32_MAX) continue;
      const uint32_t imm = static_cast<uint32_t>(str);
      char pattern[5] = {'\xb9'};
      std::memcpy(pattern + 1, &imm, sizeof imm);
      for_each_occurrence(code, std::string_view(pattern, sizeof pattern), [&](size_t at) {
        sites.push_back(s.addr + at);
        return room();
      });
    }
    for_each_occurrence(code, std::string_view("\x48\x8d\x0d", 3), [&](size_t at) {
      if (code.size() - at < 7) return false;
      const int32_t disp = static_cast<int32_t>(load_u32(code.data() + at + 3));
      if (wanted.count(s.addr + at + 7 + static_cast<int64_t>(disp))) sites.push_back(s.addr + at);
      return room();
    });
  }
  std::sort(sites.begin(), sites.end());
  return sites;
}

struct ErrorSite {
  uint64_t vaddr = 0;
  uint32_t reason = 0, line = 0;
  std::optional<uint64_t> calls;  // ERR_put_error, when the site calls it directly (not a jmp to a shared call)
};

bool ends_site(const ZydisDecodedInstruction& insn) {
  switch (insn.meta.category) {
    case ZYDIS_CATEGORY_CALL: case ZYDIS_CATEGORY_UNCOND_BR: case ZYDIS_CATEGORY_COND_BR: case ZYDIS_CATEGORY_RET:
      return true;
    default:
      return false;
  }
}

// The register-immediate moves after the file operand up to the call (or jmp) that ends the site:
// `mov edi, 16 (ERR_LIB_SSL); xor esi, esi; mov edx, REASON; mov r8d, LINE; call ERR_put_error`.
std::optional<ErrorSite> read_error_site(const ElfFile& elf, const Decoder& decoder, uint64_t site) {
  const std::span<const uint8_t> code = elf.bytes_at_vaddr(site, kSiteWindow);
  auto first = decode_at(decoder, code, 0);
  if (!first) return std::nullopt;
  std::optional<uint32_t> lib, reason, line;
  ErrorSite out;
  out.vaddr = site;
  size_t at = first->insn.length;
  for (size_t n = 0; n < kMaxSiteInstructions; ++n) {
    auto d = decode_at(decoder, code, at);
    if (!d) return std::nullopt;
    const auto& op = d->operands;
    if (d->insn.mnemonic == ZYDIS_MNEMONIC_MOV && op[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
        op[1].type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
      const auto imm = static_cast<uint32_t>(op[1].imm.value.u);
      if (op[0].reg.value == ZYDIS_REGISTER_EDI) lib = imm;
      if (op[0].reg.value == ZYDIS_REGISTER_EDX) reason = imm;
      if (op[0].reg.value == ZYDIS_REGISTER_R8D) line = imm;
    }
    if (d->insn.mnemonic == ZYDIS_MNEMONIC_CALL) out.calls = branch_target(*d, site + at);
    if (ends_site(d->insn)) break;
    at += d->insn.length;
  }
  if (lib != kErrLibSsl || !reason || !line) return std::nullopt;
  out.reason = *reason;
  out.line = *line;
  return out;
}

// The start of the function holding `site`: the first 16-aligned address after int3 padding, walking back (bounded).
std::optional<uint64_t> function_start(const ElfFile& elf, uint64_t site) {
  const ElfSection* text = code_section_holding(elf, site);
  if (!text) return std::nullopt;
  uint64_t start = site & ~(kFunctionAlignment - 1);
  for (uint64_t walked = 0; walked <= kMaxFunctionWalkBack && start > text->addr; walked += kFunctionAlignment) {
    const std::span<const uint8_t> around = elf.bytes_at_vaddr(start - 1, 2);
    if (around.size() == 2 && around[0] == kInt3 && around[1] != kInt3) return start;
    if (start < text->addr + kFunctionAlignment) break;
    start -= kFunctionAlignment;
  }
  return std::nullopt;
}

// Whether decoding from `start` lands exactly on `site` (it is an instruction of that function, not bytes inside one).
bool decodes_onto(const ElfFile& elf, const Decoder& decoder, uint64_t start, uint64_t site) {
  const std::span<const uint8_t> code = elf.bytes_at_vaddr(start, site - start + 1);
  size_t at = 0;
  while (at < site - start) {
    auto d = decode_at(decoder, code, at);
    if (!d) return false;
    at += d->insn.length;
  }
  return at == site - start;
}

// Direct call/jmp targets of the function at `start`, decoded up to its first int3 (padding) or the scan bound.
std::set<uint64_t> direct_branch_targets(const ElfFile& elf, const Decoder& decoder, uint64_t start) {
  const std::span<const uint8_t> code = elf.bytes_at_vaddr(start, kMaxFunctionScan);
  std::set<uint64_t> targets;
  for (size_t at = 0; at < code.size();) {
    auto d = decode_at(decoder, code, at);
    if (!d || d->insn.mnemonic == ZYDIS_MNEMONIC_INT3) break;
    if (auto target = branch_target(*d, start + at)) targets.insert(*target);
    at += d->insn.length;
  }
  return targets;
}

struct Function {
  uint64_t start = 0;
  std::vector<ErrorSite> sites;  // in line order
  std::vector<uint32_t> reasons() const {
    std::vector<uint32_t> out;
    for (const ErrorSite& s : sites) out.push_back(s.reason);
    return out;
  }
  bool lines_increase() const {
    for (size_t i = 1; i < sites.size(); ++i)
      if (sites[i].line <= sites[i - 1].line) return false;
    return true;
  }
};

struct SiteScan {
  size_t file_strings = 0, operand_sites = 0, error_sites = 0, unplaced = 0;
  std::map<uint64_t, Function> functions;  // by start
  std::map<uint64_t, size_t> put_error_calls;
};

SiteScan scan_sites(const ElfFile& elf, const Decoder& decoder, const std::vector<uint64_t>& strings) {
  SiteScan scan;
  scan.file_strings = strings.size();
  const std::vector<uint64_t> sites = file_operand_sites(elf, strings);
  scan.operand_sites = sites.size();
  for (uint64_t vaddr : sites) {
    auto site = read_error_site(elf, decoder, vaddr);
    if (!site) continue;
    ++scan.error_sites;
    auto start = function_start(elf, vaddr);
    if (!start || !decodes_onto(elf, decoder, *start, vaddr)) {
      ++scan.unplaced;
      continue;
    }
    if (site->calls) ++scan.put_error_calls[*site->calls];
    Function& fn = scan.functions[*start];
    fn.start = *start;
    fn.sites.push_back(*site);
  }
  for (auto& [start, fn] : scan.functions)
    std::sort(fn.sites.begin(), fn.sites.end(), [](const ErrorSite& a, const ErrorSite& b) { return a.line < b.line; });
  return scan;
}

std::vector<const Function*> functions_with_reasons(const SiteScan& scan, const std::vector<uint32_t>& reasons) {
  std::vector<const Function*> out;
  for (const auto& [start, fn] : scan.functions)
    if (fn.reasons() == reasons && fn.lines_increase()) out.push_back(&fn);
  return out;
}

// `push %rbp; mov %rsp,%rbp`, the first instruction one the kernel emulates (checked with the project's decoder).
bool has_frame_prologue(const ElfFile& elf, const Decoder& decoder, uint64_t start) {
  const std::span<const uint8_t> code = elf.bytes_at_vaddr(start, 16);
  auto push = decode_x86_64(code);
  if (!push || push->kind != InsnKind::push || push->text != "push %rbp" || !push->uprobe_emulated) return false;
  auto mov = decode_at(decoder, code, push->length);
  return mov && mov->insn.mnemonic == ZYDIS_MNEMONIC_MOV && mov->operands[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
         mov->operands[0].reg.value == ZYDIS_REGISTER_RBP && mov->operands[1].type == ZYDIS_OPERAND_TYPE_REGISTER &&
         mov->operands[1].reg.value == ZYDIS_REGISTER_RSP;
}

// Exactly one function in `candidates`, else the mismatch ("no function …" / "N functions …").
std::optional<const Function*> the_only(const std::vector<const Function*>& candidates, const std::string& what,
                                        std::string* mismatch) {
  if (candidates.size() == 1) return candidates.front();
  std::string starts;
  for (const Function* fn : candidates) starts += " " + hex(fn->start);
  *mismatch = candidates.empty() ? "no function " + what : std::to_string(candidates.size()) + " functions " + what +
                                                               " (" + starts.substr(1) + ")";
  return std::nullopt;
}

std::string scan_summary(const SiteScan& scan) {
  std::string calls;
  for (const auto& [target, count] : scan.put_error_calls) calls += " " + hex(target) + " (" + std::to_string(count) + " calls)";
  return std::to_string(scan.error_sites) + " OPENSSL_PUT_ERROR(SSL) sites in " +
         std::to_string(scan.functions.size()) + " functions (" + std::to_string(scan.unplaced) +
         " unplaced), ERR_put_error" + (calls.empty() ? " unseen" : calls);
}

std::optional<BoringSslFunctions> locate_by_signature(const ElfFile& elf, std::string* mismatch) {
  Decoder decoder;
  if (!decoder.ready) return refuse(mismatch, "the x86-64 decoder did not start");
  if (elf.machine() != EM_X86_64) return refuse(mismatch, "not x86-64 code");
  const std::vector<uint64_t> strings = ssl_lib_file_strings(elf);
  if (strings.empty()) return refuse(mismatch, "no \"ssl_lib.cc\" __FILE__ string");
  const SiteScan scan = scan_sites(elf, decoder, strings);
  if (scan.operand_sites == 0) return refuse(mismatch, "no instruction loads the ssl_lib.cc string into ecx");
  if (scan.operand_sites >= kMaxSites)
    return refuse(mismatch, "more than " + std::to_string(kMaxSites) + " loads of the ssl_lib.cc string (scan bound)");
  if (scan.functions.empty())
    return refuse(mismatch, "no OPENSSL_PUT_ERROR(SSL, reason) site inside a function (" +
                       std::to_string(scan.operand_sites) + " loads of the string)");

  std::string why;
  auto write = the_only(functions_with_reasons(scan, kSslWriteReasons), "with reasons " + join(kSslWriteReasons) +
                        " in line order (SSL_write)", &why);
  if (!write) return refuse(mismatch, why + "; " + scan_summary(scan));
  auto read_impl = the_only(functions_with_reasons(scan, kSslReadImplReasons), "with reasons " +
                            join(kSslReadImplReasons) + " in line order (ssl_read_impl)", &why);
  if (!read_impl) return refuse(mismatch, why + "; " + scan_summary(scan));
  std::vector<const Function*> readers;
  for (const Function* fn : functions_with_reasons(scan, kSslReadReasons))
    if (direct_branch_targets(elf, decoder, fn->start).count((*read_impl)->start)) readers.push_back(fn);
  auto read = the_only(readers, "with reason " + join(kSslReadReasons) + " calling ssl_read_impl " +
                       hex((*read_impl)->start) + " (SSL_read)", &why);
  if (!read) return refuse(mismatch, why + "; " + scan_summary(scan));

  for (auto [fn, name] : {std::pair{*write, "SSL_write"}, std::pair{*read, "SSL_read"}})
    if (!has_frame_prologue(elf, decoder, fn->start))
      return refuse(mismatch, std::string(name) + " candidate " + hex(fn->start) +
                         " does not start with push %rbp; mov %rsp,%rbp");
  auto write_offset = elf.vaddr_to_offset((*write)->start);
  auto read_offset = elf.vaddr_to_offset((*read)->start);
  if (!write_offset || !read_offset) return refuse(mismatch, "a candidate is not in the file");
  return BoringSslFunctions{(*write)->start, *write_offset, (*read)->start, *read_offset,
                            "ssl_lib.cc sites: SSL_write reasons " + join(kSslWriteReasons) + "; SSL_read reason " +
                                join(kSslReadReasons) + " + call ssl_read_impl " + hex((*read_impl)->start) + "; " +
                                scan_summary(scan)};
}

}  // namespace

bool has_boringssl(const ElfFile& elf) {
  return data_sections_contain(elf, kBoringSslLibFile) || has_symbol(elf, kIsBoringSsl) ||
         data_sections_contain(elf, std::string(kIsBoringSsl) + '\0');
}

std::optional<BoringSslFunctions> locate_boringssl(const ElfFile& elf, std::string* why_not) {
  std::string why;
  std::optional<BoringSslFunctions> found;
  if (!has_boringssl(elf)) {
    why = "not BoringSSL: no \"" + std::string(kBoringSslLibFile) + "\" string nor " + std::string(kIsBoringSsl);
  } else if (!(found = locate_by_symbols(elf))) {
    found = locate_by_signature(elf, &why);
    if (!found) why = "signature mismatch: " + why;
  }
  if (!found && why_not) *why_not = why;
  return found;
}

}  // namespace credtrace::tls
