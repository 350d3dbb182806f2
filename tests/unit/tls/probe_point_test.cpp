// Probe placement on synthetic prologues and on the real libssl.so.3 and node binaries.
#include "sensors/tls/probe_point.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <iostream>
#include <map>
#include <vector>

namespace credtrace::tls {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr uint64_t kFileOffset = 0x1000;

ProbePoint choose(const Bytes& code, int args, size_t max_scan = 64) {
  ElfFunction fn{"f", kFileOffset, 0x401000, code.size()};
  return choose_entry_probe(fn, code, args, max_scan);
}

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

const Bytes kSubRsp = {0x48, 0x83, 0xec, 0x18};              // sub $0x18,%rsp
const Bytes kCanary = {0x64, 0x48, 0x8b, 0x04, 0x25, 0x28, 0, 0, 0};  // mov %fs:0x28,%rax
const Bytes kCall = {0xe8, 0x00, 0x01, 0x00, 0x00};         // call rel32
const Bytes kRet = {0xc3};
const Bytes kPad = Bytes(64, 0x90);                          // targets for forward jumps

TEST(ChooseEntryProbe, PushFirstIsEmulatedEntry) {
  const auto p = choose(concat({{0x55}, {0x48, 0x89, 0xe5}, kCall, kRet}), 3);
  EXPECT_EQ(p.function_offset, 0u);
  EXPECT_EQ(p.file_offset, kFileOffset);
  EXPECT_TRUE(p.emulated);
  EXPECT_EQ(p.args, ArgsAt::entry);
  EXPECT_EQ(p.instruction, "push %rbp");
}

TEST(ChooseEntryProbe, SubFirstWithCleanCallTakesTheCall) {
  const auto code = concat({kSubRsp, kCanary, {0x48, 0x89, 0x44, 0x24, 0x08}, {0x31, 0xc0}, {0x48, 0x63, 0xd2},
                            kCall, kRet});
  const auto p = choose(code, 3);
  EXPECT_EQ(p.function_offset, 4u + 9 + 5 + 2 + 3);
  EXPECT_EQ(p.file_offset, kFileOffset + p.function_offset);
  EXPECT_TRUE(p.emulated);
  EXPECT_EQ(p.args, ArgsAt::before_first_call);
  EXPECT_EQ(p.instruction, "call rel32");
}

TEST(ChooseEntryProbe, WriteToRsiBeforeCallFallsBackToEntry) {
  const auto p = choose(concat({kSubRsp, {0x31, 0xf6}, kCall, kRet}), 2);  // xor %esi,%esi
  EXPECT_EQ(p.function_offset, 0u);
  EXPECT_FALSE(p.emulated);
  EXPECT_EQ(p.args, ArgsAt::entry);
  EXPECT_EQ(p.instruction, "sub");
}

TEST(ChooseEntryProbe, WritesOnlyMatterForNeededRegisters) {
  const auto code = concat({kSubRsp, {0x48, 0x89, 0xe1}, kCall, kRet});  // mov %rsp,%rcx
  EXPECT_EQ(choose(code, 3).args, ArgsAt::before_first_call);
  EXPECT_FALSE(choose(code, 4).emulated);  // rcx is the 4th argument
  const auto rdx = concat({kSubRsp, {0xba, 1, 0, 0, 0}, kCall, kRet});  // mov $1,%edx
  EXPECT_TRUE(choose(rdx, 2).emulated);
  EXPECT_FALSE(choose(rdx, 3).emulated);
  const auto dh = concat({kSubRsp, {0xb6, 0x01}, kCall, kRet});  // mov $1,%dh
  EXPECT_FALSE(choose(dh, 3).emulated);
}

TEST(ChooseEntryProbe, InPlaceExtensionKeepsTheArgument) {
  EXPECT_TRUE(choose(concat({kSubRsp, {0x48, 0x63, 0xd2}, kCall, kRet}), 3).emulated);  // movslq %edx,%rdx
  EXPECT_TRUE(choose(concat({kSubRsp, {0x89, 0xd2}, kCall, kRet}), 3).emulated);        // mov %edx,%edx
  EXPECT_FALSE(choose(concat({kSubRsp, {0x48, 0x63, 0xd6}, kCall, kRet}), 3).emulated);  // movslq %esi,%rdx
}

TEST(ChooseEntryProbe, Endbr64ThenPushProbesThePush) {
  // endbr64 is single-stepped (neither branch_setup_xol_ops nor push_setup_xol_ops takes 0x0f 0x1e);
  // it writes no register and leaves %rsp alone, so the push after it sees the entry state.
  const auto p = choose(concat({{0xf3, 0x0f, 0x1e, 0xfa}, {0x55}, kCall, kRet}), 3);
  EXPECT_EQ(p.function_offset, 4u);
  EXPECT_EQ(p.file_offset, kFileOffset + 4);
  EXPECT_TRUE(p.emulated);
  EXPECT_EQ(p.args, ArgsAt::entry);
  EXPECT_EQ(p.instruction, "push %rbp");
}

TEST(ChooseEntryProbe, Endbr64ThenSubTakesTheCall) {
  const auto p = choose(concat({{0xf3, 0x0f, 0x1e, 0xfa}, kSubRsp, kCall, kRet}), 4);
  EXPECT_EQ(p.function_offset, 8u);
  EXPECT_EQ(p.args, ArgsAt::before_first_call);
}

TEST(ChooseEntryProbe, TestThenJccProbesTheBranchAtEntryState) {
  // SSL_free-like: test %rdi,%rdi; je …: the jcc runs on every path and nothing moved yet.
  const auto p = choose(concat({{0x48, 0x85, 0xff}, {0x74, 0x05}, {0x55}, kCall, kRet, kPad}), 1);
  EXPECT_EQ(p.function_offset, 3u);
  EXPECT_TRUE(p.emulated);
  EXPECT_EQ(p.args, ArgsAt::entry);
  EXPECT_EQ(p.instruction, "je rel8");
}

TEST(ChooseEntryProbe, ForwardErrorBranchPastTheCallIsAccepted) {
  // test %edx,%edx; js +0x20 (past the call, inside the function)
  const auto code = concat({kSubRsp, {0x85, 0xd2}, {0x78, 0x20}, kCall, kRet, kPad});
  const auto p = choose(code, 3);
  EXPECT_TRUE(p.emulated);
  EXPECT_EQ(p.function_offset, 8u);
}

TEST(ChooseEntryProbe, ForwardBranchToABoundaryBeforeTheCallIsAccepted) {
  // js over a mov that does not touch the args, landing on the call
  const auto code = concat({kSubRsp, {0x78, 0x03}, {0x48, 0x89, 0xc1}, kCall, kRet});
  EXPECT_TRUE(choose(code, 3).emulated);
  EXPECT_FALSE(choose(code, 4).emulated);  // the mov writes rcx
}

TEST(ChooseEntryProbe, DoubtfulControlFlowFallsBack) {
  // backward jcc
  EXPECT_FALSE(choose(concat({kSubRsp, {0x75, 0xfa}, kCall, kRet}), 3).emulated);
  // jcc into the middle of an instruction before the call
  EXPECT_FALSE(choose(concat({kSubRsp, {0x78, 0x01}, {0x48, 0x89, 0xc1}, kCall, kRet}), 3).emulated);
  // jcc leaving the function
  EXPECT_FALSE(choose(concat({kSubRsp, {0x78, 0x7f}, kCall, kRet}), 3).emulated);
  // unconditional jump, ret, indirect call before any direct call
  EXPECT_FALSE(choose(concat({kSubRsp, {0xeb, 0x00}, kCall, kRet}), 3).emulated);
  EXPECT_FALSE(choose(concat({kSubRsp, kRet, kCall}), 3).emulated);
  EXPECT_FALSE(choose(concat({kSubRsp, {0xff, 0xd0}, kCall, kRet}), 3).emulated);
  // undecodable instruction before the call
  EXPECT_FALSE(choose(concat({kSubRsp, {0xc5, 0xf8, 0x77}, kCall, kRet}), 3).emulated);
}

TEST(ChooseEntryProbe, RespectsMaxScanAndTruncatedCode) {
  const auto code = concat({kSubRsp, Bytes(70, 0x90), kCall, kRet});  // nops after sub are fine…
  EXPECT_FALSE(choose(code, 3).emulated);                              // …but the call is past 64 bytes
  EXPECT_TRUE(choose(code, 3, 128).emulated);
  const Bytes truncated = concat({kSubRsp, {0xe8, 0x00}});
  EXPECT_FALSE(choose(truncated, 3).emulated);
  EXPECT_EQ(choose({}, 3).instruction, "undecoded");
}

TEST(ChooseEntryProbe, StackArgumentsOnlyAtEntry) {
  EXPECT_FALSE(choose(concat({kSubRsp, kCall, kRet}), 7).emulated);
  EXPECT_TRUE(choose(concat({{0x55}, kCall, kRet}), 7).emulated);
}

// ---- real binaries ----

struct Expect {
  int args;
  uint64_t offset;
  bool emulated;
  ArgsAt at;
};

const char* at_name(ArgsAt a) { return a == ArgsAt::entry ? "entry" : "before_first_call"; }

void check_binary(const std::string& path, const std::map<std::string, Expect>& expected) {
  std::vector<std::string> names;
  for (const auto& [name, _] : expected) names.push_back(name);
  std::string error;
  auto fns = find_functions(path, names, &error);
  ASSERT_TRUE(fns.has_value()) << error;
  ASSERT_EQ(fns->size(), names.size());
  for (const auto& fn : *fns) {
    SCOPED_TRACE(fn.name);
    const Expect& e = expected.at(fn.name);
    auto code = read_function_bytes(path, fn, 256);
    ASSERT_TRUE(code.has_value());
    const ProbePoint p = choose_entry_probe(fn, *code, e.args);
    std::cout << path << " " << fn.name << " (args " << e.args << "): +0x" << std::hex << p.function_offset
              << " file 0x" << p.file_offset << std::dec << " '" << p.instruction << "' emulated=" << p.emulated
              << " args=" << at_name(p.args) << "\n";
    EXPECT_EQ(p.function_offset, e.offset);
    EXPECT_EQ(p.file_offset, fn.file_offset + e.offset);
    EXPECT_EQ(p.emulated, e.emulated);
    EXPECT_EQ(p.args, e.at);
  }
}

constexpr const char* kLibssl = "/usr/lib/x86_64-linux-gnu/libssl.so.3";
constexpr const char* kNode = "/usr/bin/node";

// Expected points from `objdump -d` of Debian 12's libssl.so.3 (OpenSSL 3.0): SSL_write/SSL_read are
// sub $0x18,%rsp; canary; test %edx,%edx; js +0x47; mov %rsp,%rcx; movslq %edx,%rdx; call at +0x1e.
// The _ex variants are sub $0x8,%rsp; call at +0x4. SSL_ctrl/SSL_new start with push; SSL_free with
// test %rdi,%rdi; je (+0x3).
TEST(ChooseEntryProbeReal, Libssl) {
  if (access(kLibssl, R_OK) != 0) GTEST_SKIP() << kLibssl << " is not installed";
  check_binary(kLibssl, {
                            {"SSL_write", {3, 0x1e, true, ArgsAt::before_first_call}},
                            {"SSL_read", {3, 0x1e, true, ArgsAt::before_first_call}},
                            {"SSL_write_ex", {4, 0x4, true, ArgsAt::before_first_call}},
                            {"SSL_read_ex", {4, 0x4, true, ArgsAt::before_first_call}},
                            {"SSL_ctrl", {4, 0x0, true, ArgsAt::entry}},
                            {"SSL_new", {1, 0x0, true, ArgsAt::entry}},
                            {"SSL_free", {1, 0x3, true, ArgsAt::entry}},
                        });
}

// node v20 (OpenSSL statically linked, frame pointers): every SSL_* entry point starts with push %rbp
// except SSL_free (test %rdi,%rdi; je).
TEST(ChooseEntryProbeReal, Node) {
  if (access(kNode, R_OK) != 0) GTEST_SKIP() << kNode << " is not installed";
  check_binary(kNode, {
                          {"SSL_write", {3, 0x0, true, ArgsAt::entry}},
                          {"SSL_read", {3, 0x0, true, ArgsAt::entry}},
                          {"SSL_write_ex", {4, 0x0, true, ArgsAt::entry}},
                          {"SSL_read_ex", {4, 0x0, true, ArgsAt::entry}},
                          {"SSL_ctrl", {4, 0x0, true, ArgsAt::entry}},
                          {"SSL_new", {1, 0x0, true, ArgsAt::entry}},
                          {"SSL_free", {1, 0x3, true, ArgsAt::entry}},
                      });
}

TEST(ChooseEntryProbeReal, LibsslSslWriteDecodesLikeObjdump) {
  if (access(kLibssl, R_OK) != 0) GTEST_SKIP() << kLibssl << " is not installed";
  std::string error;
  auto fns = find_functions(kLibssl, {"SSL_write"}, &error);
  ASSERT_TRUE(fns && fns->size() == 1) << error;
  auto code = read_function_bytes(kLibssl, fns->front(), 64);
  ASSERT_TRUE(code);
  const std::vector<size_t> objdump_starts = {0x0, 0x4, 0xd, 0x12, 0x14, 0x16, 0x18, 0x1b, 0x1e};
  size_t offset = 0;
  for (size_t expected : objdump_starts) {
    ASSERT_EQ(offset, expected);
    auto insn = decode_x86_64(std::span<const uint8_t>(*code).subspan(offset));
    ASSERT_TRUE(insn) << "at +0x" << std::hex << offset;
    offset += insn->length;
  }
}

}  // namespace
}  // namespace credtrace::tls
