// Decoder tests on hand-assembled bytes: length, registers written, branch data and uprobe emulation.
#include "sensors/tls/x86_decode.h"

#include <gtest/gtest.h>

#include <vector>

namespace credtrace::tls {
namespace {

using Bytes = std::vector<uint8_t>;

Instruction decode(const Bytes& bytes) {
  auto insn = decode_x86_64(bytes);
  EXPECT_TRUE(insn.has_value()) << "failed to decode";
  return insn.value_or(Instruction{});
}

struct Case {
  Bytes bytes;
  size_t length;
  GprMask writes;
  bool emulated;
  const char* what;
};

constexpr GprMask R(Gpr r) { return gpr_bit(r); }

TEST(X86Decode, LengthsAndWrites) {
  const std::vector<Case> cases = {
      {{0x55}, 1, R(Gpr::rsp), true, "push %rbp"},
      {{0x41, 0x54}, 2, R(Gpr::rsp), true, "push %r12"},
      {{0x53}, 1, R(Gpr::rsp), true, "push %rbx"},
      {{0x5f}, 1, R(Gpr::rsp) | R(Gpr::rdi), false, "pop %rdi"},
      {{0x41, 0x5c}, 2, R(Gpr::rsp) | R(Gpr::r12), false, "pop %r12"},
      {{0x48, 0x83, 0xec, 0x18}, 4, R(Gpr::rsp), false, "sub $0x18,%rsp"},
      {{0x48, 0x81, 0xec, 0x00, 0x01, 0x00, 0x00}, 7, R(Gpr::rsp), false, "sub $0x100,%rsp"},
      {{0x64, 0x48, 0x8b, 0x04, 0x25, 0x28, 0, 0, 0}, 9, R(Gpr::rax), false, "mov %fs:0x28,%rax"},
      {{0x48, 0x89, 0x44, 0x24, 0x08}, 5, 0, false, "mov %rax,0x8(%rsp)"},
      {{0x31, 0xc0}, 2, R(Gpr::rax), false, "xor %eax,%eax"},
      {{0x31, 0xf6}, 2, R(Gpr::rsi), false, "xor %esi,%esi"},
      {{0x85, 0xd2}, 2, 0, false, "test %edx,%edx"},
      {{0x48, 0x85, 0xff}, 3, 0, false, "test %rdi,%rdi"},
      {{0x83, 0xf8, 0x78}, 3, 0, false, "cmp $0x78,%eax"},
      {{0x48, 0x83, 0x7f, 0x30, 0x00}, 5, 0, false, "cmpq $0x0,0x30(%rdi)"},
      {{0x48, 0x89, 0xe1}, 3, R(Gpr::rcx), false, "mov %rsp,%rcx"},
      {{0x48, 0x89, 0xe5}, 3, R(Gpr::rbp), false, "mov %rsp,%rbp"},
      {{0x49, 0x89, 0xfd}, 3, R(Gpr::r13), false, "mov %rdi,%r13"},
      {{0x48, 0x89, 0xd6}, 3, R(Gpr::rsi), false, "mov %rdx,%rsi"},
      {{0x4c, 0x89, 0xe6}, 3, R(Gpr::rsi), false, "mov %r12,%rsi"},
      {{0x48, 0x8b, 0x7f, 0x08}, 4, R(Gpr::rdi), false, "mov 0x8(%rdi),%rdi"},
      {{0x44, 0x8b, 0x67, 0x44}, 4, R(Gpr::r12), false, "mov 0x44(%rdi),%r12d"},
      {{0x48, 0x63, 0xd2}, 3, R(Gpr::rdx), false, "movslq %edx,%rdx"},
      {{0x8d, 0x46, 0xf0}, 3, R(Gpr::rax), false, "lea -0x10(%rsi),%eax"},
      {{0x48, 0x8d, 0x15, 0xe5, 0xc2, 0x04, 0x00}, 7, R(Gpr::rdx), false, "lea 0x4c2e5(%rip),%rdx"},
      {{0x48, 0x63, 0x04, 0x82}, 4, R(Gpr::rax), false, "movslq (%rdx,%rax,4),%rax"},
      {{0xba, 0xb3, 0x02, 0x00, 0x00}, 5, R(Gpr::rdx), false, "mov $0x2b3,%edx"},
      {{0x48, 0xbe, 1, 2, 3, 4, 5, 6, 7, 8}, 10, R(Gpr::rsi), false, "movabs $…,%rsi"},
      {{0xb6, 0x01}, 2, R(Gpr::rdx), false, "mov $1,%dh (no REX: dh is rdx)"},
      {{0x40, 0xb6, 0x01}, 3, R(Gpr::rsi), false, "mov $1,%sil (REX: sil)"},
      {{0xc7, 0x44, 0x24, 0x08, 0, 0, 0, 0}, 8, 0, false, "movl $0,0x8(%rsp)"},
      {{0x0f, 0xb6, 0xf2}, 3, R(Gpr::rsi), false, "movzbl %dl,%esi"},
      {{0x0f, 0x44, 0xd0}, 3, R(Gpr::rdx), false, "cmove %eax,%edx"},
      {{0x0f, 0x94, 0xc2}, 3, R(Gpr::rdx), false, "sete %dl"},
      {{0x48, 0x99}, 2, R(Gpr::rdx), false, "cqto"},
      {{0x48, 0xc1, 0xe6, 0x04}, 4, R(Gpr::rsi), false, "shl $4,%rsi"},
      {{0x48, 0x87, 0xf7}, 3, R(Gpr::rsi) | R(Gpr::rdi), false, "xchg %rsi,%rdi"},
      {{0xf0, 0x0f, 0xc1, 0x87, 0xe0, 0x09, 0, 0}, 8, R(Gpr::rax), false, "lock xadd %eax,0x9e0(%rdi)"},
      {{0x66, 0x0f, 0xef, 0xc0}, 4, 0, false, "pxor %xmm0,%xmm0"},
      {{0x0f, 0x29, 0x04, 0x24}, 4, 0, false, "movaps %xmm0,(%rsp)"},
      {{0x66, 0x48, 0x0f, 0x7e, 0xc6}, 5, R(Gpr::rsi), false, "movq %xmm0,%rsi"},
      {{0xf3, 0x0f, 0x1e, 0xfa}, 4, 0, false, "endbr64"},
      {{0x0f, 0x1f, 0x44, 0x00, 0x00}, 5, 0, false, "nopl 0x0(%rax,%rax,1)"},
      {{0x0f, 0x1f, 0x80, 0, 0, 0, 0}, 7, 0, false, "nopl 0x0(%rax)"},
      {{0x66, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0}, 9, 0, false, "nopw 0x0(%rax,%rax,1)"},
      {{0x90}, 1, 0, true, "nop"},
      {{0xe8, 0xfd, 0xfb, 0xff, 0xff}, 5, R(Gpr::rsp), true, "call rel32"},
      {{0xe9, 0x7b, 0xd7, 0xff, 0xff}, 5, 0, true, "jmp rel32"},
      {{0xeb, 0x10}, 2, 0, true, "jmp rel8"},
      {{0x78, 0x2f}, 2, 0, true, "js rel8"},
      {{0x0f, 0x88, 0x1d, 0x01, 0, 0}, 6, 0, true, "js rel32"},
      {{0xff, 0xd0}, 2, R(Gpr::rsp), false, "call *%rax"},
      {{0xff, 0x24, 0xc5, 0xc0, 0xef, 0xd4, 0x02}, 7, 0, false, "jmp *0x2d4efc0(,%rax,8)"},
      {{0xc3}, 1, 0, false, "ret"},
      {{0xc9}, 1, R(Gpr::rsp) | R(Gpr::rbp), false, "leave"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    const Instruction insn = decode(c.bytes);
    EXPECT_EQ(insn.length, c.length);
    EXPECT_EQ(insn.writes, c.writes);
    EXPECT_EQ(insn.uprobe_emulated, c.emulated);
  }
}

TEST(X86Decode, InPlaceExtensions) {
  EXPECT_EQ(decode({0x48, 0x63, 0xd2}).extends_in_place, Gpr::rdx);  // movslq %edx,%rdx
  EXPECT_EQ(decode({0x89, 0xd2}).extends_in_place, Gpr::rdx);        // mov %edx,%edx
  EXPECT_EQ(decode({0x89, 0xf6}).extends_in_place, Gpr::rsi);        // mov %esi,%esi
  EXPECT_FALSE(decode({0x48, 0x89, 0xd2}).extends_in_place);         // mov %rdx,%rdx is a plain mov
  EXPECT_FALSE(decode({0x48, 0x63, 0xd6}).extends_in_place);         // movslq %esi,%rdx
  EXPECT_FALSE(decode({0x0f, 0xb6, 0xd2}).extends_in_place);         // movzbl %dl,%edx truncates
}

TEST(X86Decode, BranchDisplacementsAndKinds) {
  auto call = decode({0xe8, 0xfd, 0xfb, 0xff, 0xff});
  EXPECT_EQ(call.kind, InsnKind::call_rel);
  EXPECT_EQ(call.rel, -0x403);
  auto js = decode({0x78, 0x2f});
  EXPECT_EQ(js.kind, InsnKind::jcc_rel);
  EXPECT_EQ(js.rel, 0x2f);
  EXPECT_EQ(js.text, "js rel8");
  auto jbe = decode({0x0f, 0x86, 0x00, 0x01, 0x00, 0x00});
  EXPECT_EQ(jbe.rel, 0x100);
  EXPECT_EQ(jbe.text, "jbe rel32");
  EXPECT_EQ(decode({0xeb, 0xfe}).rel, -2);
  EXPECT_EQ(decode({0xf3, 0x0f, 0x1e, 0xfa}).kind, InsnKind::endbr);
  EXPECT_EQ(decode({0x0f, 0x1f, 0x00}).kind, InsnKind::nop);
  EXPECT_EQ(decode({0x41, 0x57}).text, "push %r15");
}

TEST(X86Decode, UprobeEmulationFollowsKernelRules) {
  EXPECT_FALSE(decode({0x48, 0x50}).uprobe_emulated);        // REX.W push: only REX 0x41 is emulated
  EXPECT_FALSE(decode({0x66, 0x50}).uprobe_emulated);        // pushw
  EXPECT_FALSE(decode({0x66, 0xe8, 0, 0, 0, 0}).uprobe_emulated);  // 0x66 branches rejected
  EXPECT_FALSE(decode({0x3e, 0xeb, 0x00}).uprobe_emulated);  // ds: prefix: probe refused
  EXPECT_TRUE(decode({0xf3, 0x90}).uprobe_emulated);         // pause: "prefix* + nop"
  EXPECT_FALSE(decode({0xf3, 0x0f, 0x1e, 0xfa}).uprobe_emulated);
  EXPECT_FALSE(decode({0x0f, 0x1f, 0x44, 0x00, 0x00}).uprobe_emulated);
}

TEST(X86Decode, RefusesWhatItDoesNotKnow) {
  const std::vector<Bytes> unknown = {
      {},                                   // empty
      {0x48},                               // lone REX
      {0xe8, 0x00, 0x00},                   // truncated rel32
      {0x48, 0x8b},                         // truncated ModRM
      {0x48, 0x8b, 0x84, 0x24},             // truncated SIB displacement
      {0xcc},                               // int3 (another breakpoint?)
      {0x0f, 0x05},                         // syscall
      {0xc5, 0xf8, 0x77},                   // VEX vzeroupper
      {0x67, 0x8b, 0x00},                   // address-size prefix
      {0xf3, 0x48, 0x0f, 0x1e, 0xc8},       // rdsspq %rax (not endbr)
      {0x41, 0x90},                         // xchg %eax,%r8d
      {0xa4},                               // movsb (writes rdi/rsi implicitly)
      {0x8d, 0xc0},                         // lea with a register operand
  };
  for (const auto& bytes : unknown) EXPECT_FALSE(decode_x86_64(bytes).has_value()) << bytes.size();
}

TEST(X86Decode, NeverReadsPastTheSpan) {
  const Bytes bytes = {0x64, 0x48, 0x8b, 0x04, 0x25, 0x28, 0, 0, 0};
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(decode_x86_64(std::span<const uint8_t>(bytes.data(), n)).has_value()) << n;
  }
}

TEST(X86Decode, RandomBytesNeverOverrun) {
  uint64_t state = 0x9e3779b97f4a7c15ull;
  Bytes buf(16);
  size_t decoded = 0;
  for (int round = 0; round < 200000; ++round) {
    for (auto& b : buf) {
      state ^= state << 13, state ^= state >> 7, state ^= state << 17;
      b = static_cast<uint8_t>(state);
    }
    const size_t n = static_cast<size_t>(state >> 60);  // 0..15 bytes visible
    auto insn = decode_x86_64(std::span<const uint8_t>(buf.data(), n));
    if (!insn) continue;
    ++decoded;
    EXPECT_GE(insn->length, 1u);
    EXPECT_LE(insn->length, n);
  }
  EXPECT_GT(decoded, 0u);
}

}  // namespace
}  // namespace credtrace::tls
