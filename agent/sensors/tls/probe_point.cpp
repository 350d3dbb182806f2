// Entry-probe placement: scan a function's prologue for an emulated instruction that still sees the args.
#include "sensors/tls/probe_point.h"

#include <algorithm>
#include <array>
#include <optional>
#include <vector>

namespace credtrace::tls {
namespace {

constexpr std::array<Gpr, 6> kArgRegs = {Gpr::rdi, Gpr::rsi, Gpr::rdx, Gpr::rcx, Gpr::r8, Gpr::r9};

GprMask needed_mask(int args_needed) {
  GprMask mask = 0;
  const int n = std::clamp(args_needed, 0, static_cast<int>(kArgRegs.size()));
  for (int i = 0; i < n; ++i) mask |= gpr_bit(kArgRegs[static_cast<size_t>(i)]);
  return mask;
}

// State-preserving for the probe: no GPR (including %rsp) or memory written, no control transfer.
bool preserves_state(const Instruction& insn) {
  const bool plain = insn.kind == InsnKind::other || insn.kind == InsnKind::nop || insn.kind == InsnKind::endbr;
  return plain && insn.writes == 0 && !insn.writes_memory;
}

// Needed registers this instruction overwrites (an in-place extension keeps the argument).
GprMask clobbered(const Instruction& insn, GprMask needed) {
  GprMask hit = insn.writes & needed;
  if (insn.extends_in_place && insn.writes == gpr_bit(*insn.extends_in_place)) hit = 0;
  return hit;
}

ProbePoint make_point(const ElfFunction& fn, uint64_t offset, const Instruction& insn, ArgsAt args) {
  return ProbePoint{fn.file_offset + offset, offset, insn.uprobe_emulated, args, insn.text};
}

ProbePoint entry_fallback(const ElfFunction& fn, std::span<const uint8_t> code) {
  auto first = decode_x86_64(code);
  return ProbePoint{fn.file_offset, 0, false, ArgsAt::entry, first ? first->text : "undecoded"};
}

// Bytes of the function available for scanning.
std::span<const uint8_t> function_window(const ElfFunction& fn, std::span<const uint8_t> code) {
  if (fn.size > 0 && fn.size < code.size()) return code.first(static_cast<size_t>(fn.size));
  return code;
}

struct CallScan {
  GprMask needed = 0;
  uint64_t function_size = 0;
  std::vector<uint64_t> boundaries;     // offsets of instructions decoded so far
  std::vector<uint64_t> jump_targets;   // forward conditional-branch targets
};

enum class Verdict { keep_going, chosen, give_up };

// Forward targets must land past the call or on an instruction boundary before it.
bool targets_ok(const CallScan& scan, uint64_t call_offset) {
  return std::all_of(scan.jump_targets.begin(), scan.jump_targets.end(), [&](uint64_t t) {
    return t >= call_offset ||
           std::find(scan.boundaries.begin(), scan.boundaries.end(), t) != scan.boundaries.end();
  });
}

bool forward_inside(const CallScan& scan, uint64_t offset, const Instruction& insn, uint64_t* target) {
  const int64_t t = static_cast<int64_t>(offset + insn.length) + insn.rel;
  if (t <= static_cast<int64_t>(offset)) return false;
  if (scan.function_size > 0 && static_cast<uint64_t>(t) >= scan.function_size) return false;
  *target = static_cast<uint64_t>(t);
  return true;
}

Verdict call_phase_step(CallScan& scan, uint64_t offset, const Instruction& insn) {
  switch (insn.kind) {
    case InsnKind::call_rel:
      return insn.uprobe_emulated && targets_ok(scan, offset) ? Verdict::chosen : Verdict::give_up;
    case InsnKind::call_indirect:
    case InsnKind::jmp_rel:
    case InsnKind::jmp_indirect:
    case InsnKind::ret:
      return Verdict::give_up;
    case InsnKind::jcc_rel: {
      uint64_t target = 0;
      if (!forward_inside(scan, offset, insn, &target)) return Verdict::give_up;
      scan.jump_targets.push_back(target);
      break;
    }
    default:
      if (clobbered(insn, scan.needed)) return Verdict::give_up;
  }
  scan.boundaries.push_back(offset);
  return Verdict::keep_going;
}

}  // namespace

ProbePoint choose_entry_probe(const ElfFunction& fn, std::span<const uint8_t> code, int args_needed,
                              size_t max_scan) {
  const auto window = function_window(fn, code);
  // Stack arguments (beyond the sixth) are only where we expect them at the entry.
  const bool call_allowed = args_needed <= static_cast<int>(kArgRegs.size());
  CallScan scan{needed_mask(args_needed), fn.size, {}, {}};
  bool entry_phase = true;
  for (uint64_t offset = 0; offset < window.size() && offset < max_scan;) {
    auto insn = decode_x86_64(window.subspan(static_cast<size_t>(offset)));
    if (!insn) break;
    if (entry_phase && insn->uprobe_emulated) return make_point(fn, offset, *insn, ArgsAt::entry);
    entry_phase = entry_phase && preserves_state(*insn);
    if (!entry_phase) {
      if (!call_allowed) break;
      const Verdict v = call_phase_step(scan, offset, *insn);
      if (v == Verdict::chosen) return make_point(fn, offset, *insn, ArgsAt::before_first_call);
      if (v == Verdict::give_up) break;
    }
    offset += insn->length;
  }
  return entry_fallback(fn, window);
}

std::optional<ElfFunction> called_function(const ElfFunction& fn, std::span<const uint8_t> code, const ProbePoint& point,
                                           const std::string& callee_name) {
  if (point.args != ArgsAt::before_first_call || point.function_offset >= code.size()) return std::nullopt;
  auto insn = decode_x86_64(code.subspan(static_cast<size_t>(point.function_offset)));
  if (!insn || insn->kind != InsnKind::call_rel) return std::nullopt;
  const int64_t delta = static_cast<int64_t>(point.function_offset + insn->length) + insn->rel;
  if (delta < 0 && static_cast<uint64_t>(-delta) > fn.file_offset) return std::nullopt;  // before the file start
  ElfFunction callee;
  callee.name = callee_name;
  callee.vaddr = fn.vaddr + static_cast<uint64_t>(delta);
  callee.file_offset = fn.file_offset + static_cast<uint64_t>(delta);  // rel32 stays inside the same text segment
  return callee;
}

}  // namespace credtrace::tls
