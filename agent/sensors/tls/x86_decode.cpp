// Minimal x86-64 decoder: prefixes, REX, ModRM/SIB/displacement, immediates and written registers.
#include "sensors/tls/x86_decode.h"

#include <algorithm>
#include <array>
#include <utility>

namespace credtrace::tls {
namespace {

constexpr size_t kMaxInsnLength = 15;
constexpr uint8_t kRexW = 0x8, kRexR = 0x4, kRexB = 0x1;

struct State {
  std::span<const uint8_t> code;
  size_t pos = 0;
  size_t legacy_prefixes = 0;
  bool opsize = false;      // 0x66
  bool rep = false;         // 0xf3
  bool repne = false;       // 0xf2
  bool bad_prefix = false;  // 0x2e/0x3e/0xf0: uprobes refuse the probe (is_prefix_bad)
  bool has_rex = false;
  uint8_t rex = 0;
  // ModRM, when parsed: reg/rm already extended by REX.R/REX.B.
  uint8_t mod = 0, reg = 0, rm = 0, reg_field = 0;
  Instruction out;
};

bool take(State& s, uint8_t* byte) {
  if (s.pos >= s.code.size()) return false;
  *byte = s.code[s.pos++];
  return true;
}

bool skip(State& s, size_t n) {
  if (s.code.size() - s.pos < n) return false;
  s.pos += n;
  return true;
}

bool take_signed(State& s, size_t n, int64_t* value) {
  if (s.code.size() - s.pos < n) return false;
  uint64_t raw = 0;
  for (size_t i = 0; i < n; ++i) raw |= static_cast<uint64_t>(s.code[s.pos + i]) << (8 * i);
  s.pos += n;
  const unsigned shift = static_cast<unsigned>(64 - 8 * n);
  *value = static_cast<int64_t>(raw << shift) >> shift;
  return true;
}

size_t imm_z(const State& s) { return s.opsize ? 2 : 4; }
bool rex_w(const State& s) { return s.rex & kRexW; }

bool is_prefix_byte(uint8_t b) {
  switch (b) {
    case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65:
    case 0x66: case 0x67: case 0xf0: case 0xf2: case 0xf3:
      return true;
    default:
      return (b & 0xf0) == 0x40;
  }
}

// Legacy prefixes we understand, then an optional REX that must directly precede the opcode.
bool parse_prefixes(State& s, uint8_t* opcode) {
  for (;;) {
    uint8_t b;
    if (!take(s, &b)) return false;
    switch (b) {
      case 0x66: s.opsize = true; break;
      case 0xf3: s.rep = true; break;
      case 0xf2: s.repne = true; break;
      case 0x64: case 0x65: break;                       // fs:/gs: (stack protector, TLS)
      case 0x2e: case 0x3e: case 0xf0: s.bad_prefix = true; break;
      default:
        if ((b & 0xf0) == 0x40) {
          s.has_rex = true;
          s.rex = b;
          return take(s, opcode) && !is_prefix_byte(*opcode);  // a prefix after REX: not supported
        }
        *opcode = b;
        return b != 0x67 && b != 0x26 && b != 0x36;  // address-size and es:/ss: are not supported
    }
    ++s.legacy_prefixes;
  }
}

bool parse_modrm(State& s) {
  uint8_t m;
  if (!take(s, &m)) return false;
  s.mod = m >> 6;
  s.reg_field = (m >> 3) & 7;
  s.reg = s.reg_field | ((s.rex & kRexR) ? 8 : 0);
  const uint8_t rm_low = m & 7;
  s.rm = rm_low | ((s.rex & kRexB) ? 8 : 0);
  if (s.mod == 3) return true;
  size_t disp = s.mod == 1 ? 1 : s.mod == 2 ? 4 : 0;
  if (rm_low == 4) {
    uint8_t sib;
    if (!take(s, &sib)) return false;
    if (s.mod == 0 && (sib & 7) == 5) disp = 4;
  } else if (s.mod == 0 && rm_low == 5) {
    disp = 4;  // rip-relative
  }
  return skip(s, disp);
}

// Byte registers 4–7 are ah/ch/dh/bh without a REX prefix and spl/bpl/sil/dil with one.
uint8_t byte_reg(const State& s, uint8_t code) { return (!s.has_rex && code >= 4 && code < 8) ? code - 4 : code; }

void write_gpr(State& s, uint8_t code) { s.out.writes |= static_cast<GprMask>(1u << code); }
void write_reg_operand(State& s, bool byte) { write_gpr(s, byte ? byte_reg(s, s.reg) : s.reg); }
void write_rm_operand(State& s, bool byte) {
  if (s.mod == 3)
    write_gpr(s, byte ? byte_reg(s, s.rm) : s.rm);
  else
    s.out.writes_memory = true;
}

bool done(State& s, const char* text) {
  s.out.text = text;
  return true;
}

bool no_prefixes(const State& s) { return s.legacy_prefixes == 0 && !s.has_rex; }

bool branch(State& s, InsnKind kind, size_t rel_bytes, std::string text) {
  if (!take_signed(s, rel_bytes, &s.out.rel)) return false;
  s.out.kind = kind;
  s.out.uprobe_emulated = no_prefixes(s);
  s.out.text = std::move(text);
  if (kind == InsnKind::call_rel) {
    s.out.writes = gpr_bit(Gpr::rsp);
    s.out.writes_memory = true;
  }
  return true;
}

const char* jcc_name(uint8_t cc) {
  static constexpr std::array<const char*, 16> names = {"jo", "jno", "jb", "jae", "je", "jne", "jbe", "ja",
                                                        "js", "jns", "jp", "jnp", "jl", "jge", "jle", "jg"};
  return names[cc & 15];
}

// 0x00–0x3d: add/or/adc/sbb/and/sub/xor/cmp in their six ModRM/accumulator forms.
bool decode_alu(State& s, uint8_t op) {
  static constexpr std::array<const char*, 8> names = {"add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"};
  const uint8_t row = op >> 3, form = op & 7;
  const bool is_cmp = row == 7, byte = form % 2 == 0;
  if (form <= 3) {
    if (!parse_modrm(s)) return false;
    if (!is_cmp) form <= 1 ? write_rm_operand(s, byte) : write_reg_operand(s, byte);
  } else {
    if (!skip(s, form == 4 ? 1 : imm_z(s))) return false;
    if (!is_cmp) write_gpr(s, 0);
  }
  return done(s, names[row]);
}

// 0x80/0x81/0x83: group 1 with an immediate; /7 is cmp (no write).
bool decode_group1(State& s, uint8_t op) {
  static constexpr std::array<const char*, 8> names = {"add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"};
  if (!parse_modrm(s) || !skip(s, op == 0x81 ? imm_z(s) : 1)) return false;
  if (s.reg_field != 7) write_rm_operand(s, op == 0x80);
  return done(s, names[s.reg_field]);
}

bool decode_push_pop(State& s, uint8_t op) {
  const uint8_t reg = (op & 7) | ((s.rex & kRexB) ? 8 : 0);
  const bool push = op < 0x58;
  s.out.kind = push ? InsnKind::push : InsnKind::pop;
  s.out.writes = gpr_bit(Gpr::rsp);
  if (push) {
    s.out.writes_memory = true;
    // push_setup_xol_ops(): length 1, or length 2 whose only prefix is REX 0x41.
    s.out.uprobe_emulated = s.legacy_prefixes == 0 && (!s.has_rex || s.rex == 0x41);
  } else {
    write_gpr(s, reg);
  }
  s.out.text = std::string(push ? "push %" : "pop %") + gpr_name(static_cast<Gpr>(reg));
  return true;
}

// mov between register and r/m (0x88–0x8b); `mov %edx,%edx` only zero-extends in place.
bool decode_mov_rm(State& s, uint8_t op) {
  if (!parse_modrm(s)) return false;
  const bool byte = op == 0x88 || op == 0x8a;
  op <= 0x89 ? write_rm_operand(s, byte) : write_reg_operand(s, byte);
  if (!byte && s.mod == 3 && s.reg == s.rm && !rex_w(s) && !s.opsize) s.out.extends_in_place = static_cast<Gpr>(s.reg);
  return done(s, "mov");
}

bool decode_movsxd(State& s) {
  if (!parse_modrm(s)) return false;
  write_reg_operand(s, false);
  if (s.mod == 3 && s.reg == s.rm && !s.opsize) s.out.extends_in_place = static_cast<Gpr>(s.reg);
  return done(s, rex_w(s) ? "movslq" : "movsxd");
}

bool decode_nop90(State& s) {
  if (s.rex & kRexB) return false;  // 41 90 is xchg %eax,%r8d
  s.out.kind = InsnKind::nop;
  s.out.uprobe_emulated = !s.bad_prefix;  // branch_setup_xol_ops: "prefix* + nop"
  return done(s, s.rep ? "pause" : "nop");
}

bool decode_mov_imm_reg(State& s, uint8_t op) {
  const uint8_t code = (op & 7) | ((s.rex & kRexB) ? 8 : 0);
  const bool byte = op < 0xb8;
  if (!skip(s, byte ? 1 : rex_w(s) ? 8 : imm_z(s))) return false;
  write_gpr(s, byte ? byte_reg(s, code) : code);
  return done(s, byte ? "movb" : rex_w(s) ? "movabs" : "mov");
}

// Shifts/rotates: 0xc0/0xc1 (imm8), 0xd0/0xd1 (by 1), 0xd2/0xd3 (by %cl).
bool decode_shift(State& s, uint8_t op) {
  if (!parse_modrm(s) || !skip(s, (op == 0xc0 || op == 0xc1) ? 1 : 0)) return false;
  write_rm_operand(s, op % 2 == 0);
  return done(s, "shift");
}

bool decode_mov_imm_rm(State& s, uint8_t op) {
  if (!parse_modrm(s) || s.reg_field != 0 || !skip(s, op == 0xc6 ? 1 : imm_z(s))) return false;
  write_rm_operand(s, op == 0xc6);
  return done(s, "mov");
}

// 0xf6/0xf7 group 3: test/not/neg/mul/imul/div/idiv.
bool decode_group3(State& s, uint8_t op) {
  const bool byte = op == 0xf6;
  if (!parse_modrm(s)) return false;
  if (s.reg_field == 1) return false;
  if (s.reg_field == 0) return skip(s, byte ? 1 : imm_z(s)) && done(s, "test");
  if (s.reg_field <= 3) {
    write_rm_operand(s, byte);
    return done(s, s.reg_field == 2 ? "not" : "neg");
  }
  write_gpr(s, 0);
  if (!byte) write_gpr(s, 2);
  return done(s, "muldiv");
}

bool decode_group5(State& s, uint8_t op) {
  if (!parse_modrm(s)) return false;
  if (s.reg_field <= 1) {
    write_rm_operand(s, op == 0xfe);
    return done(s, s.reg_field == 0 ? "inc" : "dec");
  }
  if (op == 0xfe) return false;
  switch (s.reg_field) {
    case 2:
      s.out.kind = InsnKind::call_indirect;
      s.out.writes = gpr_bit(Gpr::rsp);
      s.out.writes_memory = true;
      return done(s, "call *");
    case 4: s.out.kind = InsnKind::jmp_indirect; return done(s, "jmp *");
    case 6:
      s.out.writes = gpr_bit(Gpr::rsp);
      s.out.writes_memory = true;
      return done(s, "push r/m");
    default: return false;
  }
}

bool decode_xchg(State& s, uint8_t op) {
  if (op >= 0x91) {
    write_gpr(s, 0);
    write_gpr(s, (op & 7) | ((s.rex & kRexB) ? 8 : 0));
    return done(s, "xchg");
  }
  if (!parse_modrm(s)) return false;
  write_reg_operand(s, op == 0x86);
  write_rm_operand(s, op == 0x86);
  return done(s, "xchg");
}

// SSE moves/xor that only write xmm registers or memory (struct zeroing in prologues).
bool decode_sse(State& s, uint8_t op2) {
  if (!parse_modrm(s)) return false;
  const bool stores_rm = op2 == 0x11 || op2 == 0x29 || op2 == 0x7f || op2 == 0xd6;
  if (stores_rm && s.mod != 3) s.out.writes_memory = true;
  if (op2 == 0x7e && !s.rep) write_rm_operand(s, false);  // movd/movq xmm→r/m (66 0f 7e) or mm→r/m
  return done(s, "sse");
}

bool decode_endbr(State& s) {
  uint8_t m;
  if (!s.rep || !take(s, &m) || (m != 0xfa && m != 0xfb)) return false;  // f3 0f 1e /1 is rdssp
  s.out.kind = InsnKind::endbr;
  return done(s, m == 0xfa ? "endbr64" : "endbr32");
}

bool decode_nopl(State& s) {
  if (!parse_modrm(s) || s.reg_field != 0) return false;
  s.out.kind = InsnKind::nop;
  return done(s, "nopl");
}

bool decode_modrm_writes_reg(State& s, const char* text) {
  if (!parse_modrm(s)) return false;
  write_reg_operand(s, false);
  return done(s, text);
}

bool decode_two_byte(State& s) {
  uint8_t op2;
  if (!take(s, &op2)) return false;
  if (op2 == 0x1e) return decode_endbr(s);
  if (op2 == 0x1f) return decode_nopl(s);
  if (op2 >= 0x80 && op2 <= 0x8f) return branch(s, InsnKind::jcc_rel, 4, std::string(jcc_name(op2)) + " rel32");
  if (op2 >= 0x40 && op2 <= 0x4f) return decode_modrm_writes_reg(s, "cmov");
  if (op2 >= 0x90 && op2 <= 0x9f) {
    if (!parse_modrm(s)) return false;
    write_rm_operand(s, true);
    return done(s, "setcc");
  }
  switch (op2) {
    case 0xaf: return decode_modrm_writes_reg(s, "imul");
    case 0xb6: case 0xb7: return decode_modrm_writes_reg(s, "movzx");
    case 0xbe: case 0xbf: return decode_modrm_writes_reg(s, "movsx");
    case 0xc1:
      if (!parse_modrm(s)) return false;
      write_reg_operand(s, false);
      write_rm_operand(s, false);
      return done(s, "xadd");
    case 0xb1:
      if (!parse_modrm(s)) return false;
      write_gpr(s, 0);
      write_rm_operand(s, false);
      return done(s, "cmpxchg");
    case 0x10: case 0x11: case 0x28: case 0x29: case 0x57: case 0x6e:
    case 0x6f: case 0x7e: case 0x7f: case 0xd6: case 0xef:
      return decode_sse(s, op2);
    default: return false;
  }
}

bool decode_opcode(State& s, uint8_t op) {
  if (op <= 0x3d && (op & 7) <= 5) return decode_alu(s, op);
  if (op >= 0x50 && op <= 0x5f) return decode_push_pop(s, op);
  if (op >= 0x70 && op <= 0x7f) return branch(s, InsnKind::jcc_rel, 1, std::string(jcc_name(op)) + " rel8");
  if (op >= 0x91 && op <= 0x97) return decode_xchg(s, op);
  if (op >= 0xb0 && op <= 0xbf) return decode_mov_imm_reg(s, op);
  switch (op) {
    case 0x0f: return decode_two_byte(s);
    case 0x63: return decode_movsxd(s);
    case 0x68: case 0x6a:
      s.out.writes = gpr_bit(Gpr::rsp);
      s.out.writes_memory = true;
      return skip(s, op == 0x68 ? imm_z(s) : 1) && done(s, "push imm");
    case 0x69: case 0x6b:
      if (!parse_modrm(s) || !skip(s, op == 0x69 ? imm_z(s) : 1)) return false;
      write_reg_operand(s, false);
      return done(s, "imul");
    case 0x80: case 0x81: case 0x83: return decode_group1(s, op);
    case 0x84: case 0x85: return parse_modrm(s) && done(s, "test");
    case 0x86: case 0x87: return decode_xchg(s, op);
    case 0x88: case 0x89: case 0x8a: case 0x8b: return decode_mov_rm(s, op);
    case 0x8d:
      if (!parse_modrm(s) || s.mod == 3) return false;
      write_reg_operand(s, false);
      return done(s, "lea");
    case 0x90: return decode_nop90(s);
    case 0x98: write_gpr(s, 0); return done(s, "cltq");
    case 0x99: write_gpr(s, 2); return done(s, "cqto");
    case 0xa8: return skip(s, 1) && done(s, "test");
    case 0xa9: return skip(s, imm_z(s)) && done(s, "test");
    case 0xc0: case 0xc1: case 0xd0: case 0xd1: case 0xd2: case 0xd3: return decode_shift(s, op);
    case 0xc2: s.out.kind = InsnKind::ret; return skip(s, 2) && done(s, "ret imm16");
    case 0xc3: s.out.kind = InsnKind::ret; return done(s, "ret");
    case 0xc6: case 0xc7: return decode_mov_imm_rm(s, op);
    case 0xc9:
      s.out.writes = gpr_bit(Gpr::rsp) | gpr_bit(Gpr::rbp);
      return done(s, "leave");
    case 0xe8: return branch(s, InsnKind::call_rel, 4, "call rel32");
    case 0xe9: return branch(s, InsnKind::jmp_rel, 4, "jmp rel32");
    case 0xeb: return branch(s, InsnKind::jmp_rel, 1, "jmp rel8");
    case 0xf6: case 0xf7: return decode_group3(s, op);
    case 0xfe: case 0xff: return decode_group5(s, op);
    default: return false;
  }
}

}  // namespace

const char* gpr_name(Gpr r) {
  static constexpr std::array<const char*, 16> names = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                                        "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
  return names[static_cast<size_t>(r) & 15];
}

std::optional<Instruction> decode_x86_64(std::span<const uint8_t> code) {
  State s;
  s.code = code.first(std::min(code.size(), kMaxInsnLength));
  uint8_t opcode;
  if (!parse_prefixes(s, &opcode) || !decode_opcode(s, opcode)) return std::nullopt;
  s.out.length = s.pos;
  return std::move(s.out);
}

}  // namespace credtrace::tls
