// Choice of the uprobe attach point for a function's entry: an instruction the kernel emulates (fast)
// at which the needed integer argument registers still hold the caller's values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "sensors/tls/elf_symbols.h"
#include "sensors/tls/x86_decode.h"

namespace credtrace::tls {

enum class ArgsAt {
  entry,              // only state-preserving instructions (endbr64, nop, test/cmp) ran before the probe:
                      // argument registers and %rsp are exactly as at the call
  before_first_call,  // at the function's first `call rel32`: the needed argument registers hold the
                      // caller's values (an int may have been sign/zero-extended in place), %rsp moved
};

struct ProbePoint {
  uint64_t file_offset = 0;      // fn.file_offset + function_offset: pass this to the uprobe
  uint64_t function_offset = 0;  // from the function start
  bool emulated = false;         // the kernel emulates the probed instruction (no single-step)
  ArgsAt args = ArgsAt::entry;
  std::string instruction;       // mnemonic of the probed instruction ("undecoded" when unknown)
};

// Chooses where to attach an entry probe for `fn` (code = its first bytes, e.g. read_function_bytes)
// whose first args_needed integer arguments (rdi, rsi, rdx, rcx, r8, r9; 0–6) are read at the probe:
//  1. the first instruction, or the first emulated instruction reached after only state-preserving
//     ones (endbr64 is never emulated, so endbr64; push %rbp probes the push) → ArgsAt::entry;
//  2. otherwise the first emulated `call rel32` starting in the first max_scan bytes, provided every
//     instruction before it decodes, none writes a needed register (an in-place sign/zero-extension
//     such as movslq %edx,%rdx is allowed), and no jump, ret or indirect call precedes it; conditional
//     branches must go forward inside the function, either to an instruction boundary before the call
//     or past it (an early-out path whose calls the probe then misses) → ArgsAt::before_first_call;
//  3. otherwise the entry with emulated = false (single-stepped, ~15 µs per hit, but always correct).
// Never fails; code may be shorter than fn.size (the scan stops at its end).
ProbePoint choose_entry_probe(const ElfFunction& fn, std::span<const uint8_t> code, int args_needed,
                              size_t max_scan = 64);

// The function called by the `call rel32` at point (chosen with ArgsAt::before_first_call): a function record for
// the callee (name `callee_name`, no size) in the same file, or nullopt when point is not such a call.
std::optional<ElfFunction> called_function(const ElfFunction& fn, std::span<const uint8_t> code, const ProbePoint& point,
                                           const std::string& callee_name);

}  // namespace credtrace::tls
