// Minimal x86-64 instruction decoder for compiler prologues: length, registers written, branch info.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace credtrace::tls {

// General-purpose registers in hardware encoding order.
enum class Gpr : uint8_t { rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15 };
using GprMask = uint16_t;
constexpr GprMask gpr_bit(Gpr r) { return static_cast<GprMask>(1u << static_cast<unsigned>(r)); }
const char* gpr_name(Gpr r);  // "rax", …, "r15"

enum class InsnKind : uint8_t {
  other,          // anything else that was understood (mov, sub, test, …)
  nop,            // 0x90 (and pause) or 0x0f 0x1f /0
  endbr,          // endbr64 / endbr32 (f3 0f 1e fa/fb)
  push,           // push reg (0x50–0x57, optional REX.B)
  pop,            // pop reg
  call_rel,       // call rel32 (0xe8)
  call_indirect,  // call r/m (0xff /2)
  jmp_rel,        // jmp rel8/rel32 (0xeb/0xe9)
  jmp_indirect,   // jmp r/m (0xff /4)
  jcc_rel,        // jcc rel8/rel32 (0x70–0x7f, 0x0f 0x80–0x8f)
  ret,            // ret / ret imm16
};

struct Instruction {
  size_t length = 0;
  InsnKind kind = InsnKind::other;
  GprMask writes = 0;                    // GPRs whose value may change (rsp included); memory not counted
  bool writes_memory = false;            // a store through a ModRM memory operand or a push
  std::optional<Gpr> extends_in_place;   // the only write keeps the low 32 bits of this register
                                         // (movslq %edx,%rdx; mov %edx,%edx)
  int64_t rel = 0;                       // branch displacement from the end of the instruction
  bool uprobe_emulated = false;          // the x86-64 kernel emulates it instead of single-stepping
  std::string text;                      // short mnemonic, e.g. "push %rbp", "call rel32", "js rel8"
};

// Decodes one instruction at the start of `code`. nullopt when the bytes are truncated, use VEX/EVEX,
// the 0x67 address-size prefix, or an opcode outside the supported prologue subset: never a guess.
//
// uprobe_emulated follows arch/x86/kernel/uprobes.c (read in kernel-patches/bpf at 02aa1c0fda34,
// a v6.17+ tree with the uprobe syscall/trampoline): arch_uprobe_analyze_insn() first tries
// branch_setup_xol_ops() — `jmp rel8/rel32` (0xeb/0xe9), `call rel32` (0xe8, offset cleared so a
// failed emulation traps), `jcc rel8` (0x70–0x7f) and `jcc rel32` (0x0f 0x80–0x8f, mapped back by
// OPCODE2 - 0x10), rejecting any of them with a 0x66 prefix, and `0x90` ("prefix* + nop", accepted
// before the prefix check) — then push_setup_xol_ops(): `push reg` 0x50–0x57 of length 1, or length 2
// only with the REX prefix exactly 0x41 (r8–r15). Everything else is single-stepped out of line
// (default_xol_ops). In that tree multi-byte nops (0x0f 0x1f) and endbr64 are NOT emulated; a later
// series (P. Zijlstra, "x86/insn", Sep 2025) makes branch_setup_xol_ops() accept any insn_is_nop(),
// so nopl may be fast on newer kernels — we still report it as not emulated (conservative).
// Segment/lock prefixes make is_prefix_bad() refuse the probe entirely, so prefixed forms are
// reported as not emulated too.
std::optional<Instruction> decode_x86_64(std::span<const uint8_t> code);

}  // namespace credtrace::tls
