// Go executables: the toolchain version (.go.buildinfo) and the function table (pclntab) read with or without
// symbols, PIE or not, Go 1.16 to 1.27 layouts; functions found by name, their RET instructions by decoding.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sensors/tls/elf_file.h"

namespace credtrace::tls {

struct GoFunction {
  std::string name;
  uint64_t vaddr = 0;        // entry (link-time virtual address)
  uint64_t file_offset = 0;  // where the entry lives in the file (what a uprobe attaches to)
  uint64_t size = 0;         // up to the next function's entry
};

struct GoTable {
  std::string version;         // "go1.26.2" from .go.buildinfo; "" when the binary does not say
  uint32_t magic = 0;          // the pclntab header's magic: 0xfffffffa (1.16/1.17), 0xfffffff0 (1.18/1.19), 0xfffffff1
  uint64_t pclntab_vaddr = 0;  // where the table was found
  uint64_t text_start = 0;     // what entry offsets are relative to (Go >= 1.18)
  std::string found_by;        // ".gopclntab", ".go.module" or "magic in .data.rel.ro" (how the table was located)
  uint64_t function_count = 0;
};

// Whether the file is a Go executable (a .go.buildinfo section, a Go pclntab, or a .note.go.buildid).
bool is_go_binary(const ElfFile& elf);

// The toolchain version written by the Go linker into .go.buildinfo (Go 1.13+), or "".
std::string go_version(const ElfFile& elf);

// Locates and validates the pclntab; nullopt with *why_not ("no Go function table", "pclntab header refused: ...").
std::optional<GoTable> read_go_table(const ElfFile& elf, std::string* why_not);

// Every function named `name` (several when ABI wrappers share it), in table order.
std::vector<GoFunction> find_go_functions(const ElfFile& elf, const GoTable& table, const std::string& name);

// The one to probe among functions sharing a name: the largest (an ABI0 wrapper only calls the real one). nullopt
// when there is none.
std::optional<GoFunction> find_go_function(const ElfFile& elf, const GoTable& table, const std::string& name);

// Where an entry probe of a Go function fires once per call: the first instruction after its stack check (the
// conditional branch to runtime.morestack, which calls the function again from its start: a probe before the
// branch would fire twice for one call when the stack grows). The argument registers (rax, rbx, rcx, rdi, rsi,
// r8-r11) and g (r14) are checked to be unchanged up to there. A function without a stack check gets its entry.
struct GoProbePoint {
  uint64_t file_offset = 0;
  uint64_t function_offset = 0;
  bool emulated = false;   // the kernel emulates the probed instruction (push %rbp: yes) instead of single-stepping
  std::string instruction;  // "push %rbp", or "undecoded"
};
std::optional<GoProbePoint> go_entry_probe(const ElfFile& elf, const GoFunction& fn, std::string* why_not);

// File offsets of every RET of the function, found by decoding each instruction from its entry to its end (Zydis);
// nullopt with *why_not when an instruction does not decode (never a guess from a lone 0xc3 byte).
std::optional<std::vector<uint64_t>> go_function_returns(const ElfFile& elf, const GoFunction& fn, std::string* why_not);

}  // namespace credtrace::tls
