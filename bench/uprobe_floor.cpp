// Benchmark: the uprobe mechanism's own cost on this kernel, per probed instruction kind (an empty BPF program on a
// function of this binary whose first instruction is a 5-byte nop, push, call or sub). Shows the floor under any
// probe on SSL_write: the kernel optimizes only a nop5 into a call to its uprobe trampoline (no trap); push and call
// are emulated after an int3 trap; sub is single-stepped.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <bpf/libbpf.h>

#include "ct_empty.skel.h"

// Four tiny functions, each starting with the instruction kind under test, then returning.
asm(R"(
  .text
  .globl ct_floor_nop5
  .type ct_floor_nop5, @function
ct_floor_nop5:
  .byte 0x0f, 0x1f, 0x44, 0x00, 0x00
  ret
  .globl ct_floor_push
  .type ct_floor_push, @function
ct_floor_push:
  push %rbp
  pop %rbp
  ret
  .globl ct_floor_call
  .type ct_floor_call, @function
ct_floor_call:
  call ct_floor_leaf
  ret
ct_floor_leaf:
  ret
  .globl ct_floor_sub
  .type ct_floor_sub, @function
ct_floor_sub:
  sub $0x18, %rsp
  add $0x18, %rsp
  ret
)");

extern "C" void ct_floor_nop5();
extern "C" void ct_floor_push();
extern "C" void ct_floor_call();
extern "C" void ct_floor_sub();

namespace {

struct SkeletonFree {
  void operator()(ct_empty* skel) const { ct_empty::destroy(skel); }
};
struct LinkFree {
  void operator()(bpf_link* link) const { bpf_link__destroy(link); }
};

// The file offset of a code address of this binary, from /proc/self/maps.
std::optional<uint64_t> file_offset_of(const void* address) {
  const auto at = reinterpret_cast<uintptr_t>(address);
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    std::istringstream fields(line);
    std::string range, perms, offset;
    fields >> range >> perms >> offset;
    const size_t dash = range.find('-');
    const uintptr_t start = std::stoull(range.substr(0, dash), nullptr, 16);
    const uintptr_t end = std::stoull(range.substr(dash + 1), nullptr, 16);
    if (at >= start && at < end) return at - start + std::stoull(offset, nullptr, 16);
  }
  return std::nullopt;
}

// Nanoseconds per call of fn, the best of several runs (the least disturbed by other work).
double ns_per_call(void (*fn)(), int calls) {
  void (*volatile target)() = fn;
  double best = 1e18;
  for (int run = 0; run < 7; ++run) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < calls; ++i) target();
    const auto elapsed = std::chrono::steady_clock::now() - start;
    best = std::min(best, std::chrono::duration<double, std::nano>(elapsed).count() / calls);
  }
  return best;
}

struct Case {
  const char* name;
  void (*fn)();
};

}  // namespace

int main(int argc, char** argv) {
  const int calls = argc > 1 ? std::atoi(argv[1]) : 200000;
  if (::geteuid() != 0) {
    std::fprintf(stderr, "bench_uprobe_floor: needs root (uprobes)\n");
    return 2;
  }
  std::unique_ptr<ct_empty, SkeletonFree> skel(ct_empty::open_and_load());
  if (!skel) {
    std::fprintf(stderr, "bench_uprobe_floor: cannot load the empty programs\n");
    return 1;
  }
  const std::vector<Case> cases = {{"nop5 (optimized: call to the uprobe trampoline)", ct_floor_nop5},
                                   {"push %rbp (int3, emulated)", ct_floor_push},
                                   {"call rel32 (int3, emulated)", ct_floor_call},
                                   {"sub $0x18,%rsp (int3, single-stepped)", ct_floor_sub}};
  std::printf("empty uprobe on this binary's functions, %d calls x best of 7; added ns per call\n", calls);
  for (const Case& c : cases) {
    const double before = ns_per_call(c.fn, calls);
    std::optional<uint64_t> offset = file_offset_of(reinterpret_cast<const void*>(c.fn));
    if (!offset) {
      std::fprintf(stderr, "bench_uprobe_floor: %s not found in /proc/self/maps\n", c.name);
      return 1;
    }
    std::unique_ptr<bpf_link, LinkFree> link(
        bpf_program__attach_uprobe(skel->progs.empty_uprobe, false, -1, "/proc/self/exe", *offset));
    if (!link) {
      std::fprintf(stderr, "bench_uprobe_floor: cannot attach to %s\n", c.name);
      return 1;
    }
    for (int i = 0; i < 1000; ++i) c.fn();  // the first hits trap, and let the kernel optimize a nop5
    const double probed = ns_per_call(c.fn, c.name[0] == 's' ? calls / 20 : calls);
    std::printf("  %-44s %7.0f ns  (%.1f -> %.1f)\n", c.name, probed - before, before, probed);
    if (c.fn == ct_floor_nop5) {
      std::ifstream maps("/proc/self/maps");
      std::string text((std::istreambuf_iterator<char>(maps)), std::istreambuf_iterator<char>());
      std::printf("    [uprobes-trampoline] mapped (nop5 optimized): %s\n", text.find("[uprobes-trampoline]") != std::string::npos ? "yes" : "no");
    }
  }
  return 0;
}
