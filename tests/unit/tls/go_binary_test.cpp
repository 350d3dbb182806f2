// Tests of go_binary: Go programs built here (symbols, stripped, PIE, externally linked) and Go binaries as npm ships
// them (Go 1.25 stripped, 1.26 with symbols and a stripped copy, 1.27 stripped), checked against their symbol tables.
#include "sensors/tls/go_binary.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "sensors/tls/elf_symbols.h"

namespace credtrace::tls {
namespace {

const std::string kGoPrograms = CREDTRACE_GO_PROGRAMS;  // tests/go/build.sh output
const std::string kNpm = CREDTRACE_NPM_MODULES;         // tests/e2e/npm/node_modules (npm ci)
const std::string kWrite = "crypto/tls.(*Conn).Write";
const std::string kRead = "crypto/tls.(*Conn).Read";

struct Found {
  GoTable table;
  GoFunction write, read;
  std::vector<uint64_t> read_returns;
};

std::unique_ptr<ElfFile> open_or_fail(const std::string& path) {
  std::string error;
  auto elf = ElfFile::open(path, &error);
  EXPECT_TRUE(elf) << error;
  return elf;
}

std::optional<Found> inspect(const std::string& path) {
  auto elf = open_or_fail(path);
  if (!elf) return std::nullopt;
  std::string why;
  auto table = read_go_table(*elf, &why);
  EXPECT_TRUE(table) << path << ": " << why;
  if (!table) return std::nullopt;
  auto write = find_go_function(*elf, *table, kWrite);
  auto read = find_go_function(*elf, *table, kRead);
  EXPECT_TRUE(write && read) << path;
  if (!write || !read) return std::nullopt;
  auto returns = go_function_returns(*elf, *read, &why);
  EXPECT_TRUE(returns) << why;
  if (!returns) return std::nullopt;
  // Every return site is a RET byte inside the function.
  std::ifstream in(path, std::ios::binary);
  for (uint64_t at : *returns) {
    EXPECT_GE(at, read->file_offset);
    EXPECT_LT(at, read->file_offset + read->size);
    in.seekg(static_cast<std::streamoff>(at));
    EXPECT_EQ(in.get(), 0xc3) << path << " +" << at - read->file_offset;
  }
  EXPECT_FALSE(returns->empty());
  // The entry probes sit after the stack check (cmp 0x10(%r14) + its branch: at least 9 bytes in) on an instruction
  // the kernel emulates (push %rbp on Go 1.21+; a jmp/jcc/nop on the straight line after it on Go 1.19).
  for (const auto* fn : {&*write, &*read}) {
    auto point = go_entry_probe(*elf, *fn, &why);
    EXPECT_TRUE(point) << path << " " << fn->name << ": " << why;
    if (!point) continue;
    EXPECT_GE(point->function_offset, 9u) << path << " " << fn->name;
    EXPECT_TRUE(point->emulated) << path << " " << fn->name << " +" << point->function_offset << " "
                                 << point->instruction;
    if (table->version >= "go1.21") {  // go1.21 .. go1.27 (two-digit minor versions compare as text)
      EXPECT_EQ(point->instruction, "push %rbp") << path << " " << fn->name;
    }
  }
  return Found{*table, *write, *read, *returns};
}

// The symbol table's answer (ground truth for binaries that kept it).
ElfFunction symbol(const std::string& path, const std::string& name) {
  std::string error;
  auto found = find_functions(path, {name}, &error);
  EXPECT_TRUE(found && found->size() == 1) << path << " " << name << " " << error;
  return found && !found->empty() ? found->front() : ElfFunction{};
}

void expect_matches_symbols(const std::string& path, const Found& f) {
  for (const auto* fn : {&f.write, &f.read}) {
    ElfFunction sym = symbol(path, fn->name);
    EXPECT_EQ(fn->vaddr, sym.vaddr) << path << " " << fn->name;
    EXPECT_EQ(fn->file_offset, sym.file_offset) << path << " " << fn->name;
    // The table's size runs to the next entry: the symbol's, plus the int3 padding that aligns the next function.
    EXPECT_GE(fn->size, sym.size) << path << " " << fn->name;
    EXPECT_LT(fn->size - sym.size, 32u) << path << " " << fn->name;
  }
}

// Go's function prologue: the stack check against g (r14) the register ABI starts with.
bool starts_with_stack_check(const std::string& path, const GoFunction& fn) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(fn.file_offset));
  unsigned char b[9] = {};
  in.read(reinterpret_cast<char*>(b), sizeof b);
  const bool cmp_rsp = b[0] == 0x49 && b[1] == 0x3b && b[2] == 0x66 && b[3] == 0x10;          // cmp 0x10(%r14),%rsp
  const bool lea_cmp = b[0] == 0x4c && b[1] == 0x8d && b[2] == 0x64 && b[3] == 0x24 &&        // lea -N(%rsp),%r12
                       b[5] == 0x4d && b[6] == 0x3b && b[7] == 0x66 && b[8] == 0x10;          // cmp 0x10(%r14),%r12
  return cmp_rsp || lea_cmp;
}

std::string copy_stripped(const std::string& path) {
  char name[] = "/tmp/credtrace-go-stripped-XXXXXX";
  int fd = mkstemp(name);
  EXPECT_GE(fd, 0);
  if (fd >= 0) close(fd);
  const std::string command = "objcopy --strip-all '" + path + "' '" + name + "'";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  return name;
}

TEST(GoBinary, BuiltProgramsWithSymbolsMatchTheirSymbolTables) {
  for (const char* variant : {"", "-pie", "-external"}) {
    const std::string path = kGoPrograms + "/https_client" + variant;
    auto found = inspect(path);
    ASSERT_TRUE(found) << path;
    EXPECT_EQ(found->table.version.rfind("go1.", 0), 0u) << found->table.version;
    expect_matches_symbols(path, *found);
    EXPECT_TRUE(starts_with_stack_check(path, found->write));
    EXPECT_TRUE(starts_with_stack_check(path, found->read));
  }
}

TEST(GoBinary, StrippedBuildsGiveTheSameAnswersAsTheirTwins) {
  for (const auto& [with_symbols, stripped] :
       std::vector<std::pair<std::string, std::string>>{{"", "-stripped"}, {"-pie", "-pie-stripped"}}) {
    auto a = inspect(kGoPrograms + "/https_client" + with_symbols);
    auto b = inspect(kGoPrograms + "/https_client" + stripped);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->write.vaddr, b->write.vaddr);
    EXPECT_EQ(a->read.vaddr, b->read.vaddr);
    EXPECT_EQ(a->read.size, b->read.size);
    EXPECT_EQ(a->read_returns.size(), b->read_returns.size());
    EXPECT_TRUE(find_functions(kGoPrograms + "/https_client" + stripped, {kWrite}, nullptr)->empty())
        << "the stripped build still has symbols: the test proves nothing";
  }
}

TEST(GoBinary, PieTableIsFoundEvenWhenItsSectionLosesItsName) {
  const std::string renamed = copy_stripped(kGoPrograms + "/https_client-pie");
  const std::string command = "objcopy --rename-section .data.rel.ro.gopclntab=.data.rel.ro.x '" + renamed + "'";
  ASSERT_EQ(std::system(command.c_str()), 0);
  auto found = inspect(renamed);
  auto twin = inspect(kGoPrograms + "/https_client-pie");
  ASSERT_TRUE(found && twin);
  EXPECT_EQ(found->table.found_by, "magic in .data.rel.ro.x");
  EXPECT_EQ(found->write.vaddr, twin->write.vaddr);
  EXPECT_EQ(found->read.vaddr, twin->read.vaddr);
  unlink(renamed.c_str());
}

TEST(GoBinary, Go126FromNpmMatchesItsSymbolsAndAStrippedCopy) {
  const std::string nomad = kNpm + "/@kocierik/mcp-nomad-linux-x64/bin/mcp-nomad";
  auto found = inspect(nomad);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->table.version.rfind("go1.26.", 0), 0u) << found->table.version;
  EXPECT_EQ(found->table.found_by, ".go.module");  // textStart is 0 in the 1.26 header: the module data gives it
  expect_matches_symbols(nomad, *found);
  const std::string stripped = copy_stripped(nomad);
  auto again = inspect(stripped);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->write.vaddr, found->write.vaddr);
  EXPECT_EQ(again->read.vaddr, found->read.vaddr);
  EXPECT_EQ(again->read_returns, found->read_returns);
  unlink(stripped.c_str());
}

// Go 1.17 (the first register ABI, and the 1.16/1.17 table: magic 0xfffffffa, absolute entries) in esbuild 0.14.0,
// which links crypto/tls for its HTTPS serve mode; Go 1.25 and 1.27 (the 1.20+ table).
TEST(GoBinary, StrippedGo117And125And127FromNpm) {
  for (const auto& [path, version] : std::vector<std::pair<std::string, std::string>>{
           {kNpm + "/esbuild-linux-64/bin/esbuild", "go1.17."},
           {kNpm + "/mcp-prometheus-linux-amd64/bin/mcp-prometheus-linux-amd64", "go1.25."},
           {kNpm + "/lefthook-linux-x64/bin/lefthook", "go1.27."}}) {
    ASSERT_TRUE(find_functions(path, {kWrite}, nullptr)->empty()) << path << " is not stripped";
    auto found = inspect(path);
    ASSERT_TRUE(found) << path;
    EXPECT_EQ(found->table.version.rfind(version, 0), 0u) << found->table.version;
    if (version == "go1.17.") {
      EXPECT_EQ(found->table.magic, 0xfffffffau);
    }
    EXPECT_FALSE(found->read_returns.empty()) << path;
    EXPECT_TRUE(starts_with_stack_check(path, found->write)) << path;
    EXPECT_TRUE(starts_with_stack_check(path, found->read)) << path;
    EXPECT_GT(found->write.size, 1000u);
  }
}

TEST(GoBinary, NotGoAndGoWithoutTls) {
  auto ls = open_or_fail("/bin/ls");
  ASSERT_TRUE(ls);
  std::string why;
  EXPECT_FALSE(is_go_binary(*ls));
  EXPECT_FALSE(read_go_table(*ls, &why));
  EXPECT_NE(why.find("not a Go binary"), std::string::npos) << why;

  auto no_tls = open_or_fail(kGoPrograms + "/no_tls-stripped");
  ASSERT_TRUE(no_tls);
  auto table = read_go_table(*no_tls, &why);
  ASSERT_TRUE(table) << why;
  EXPECT_GT(table->function_count, 100u);
  EXPECT_FALSE(find_go_function(*no_tls, *table, kWrite));
  EXPECT_TRUE(find_go_function(*no_tls, *table, "main.main"));
}

TEST(GoBinary, AFunctionWithoutTheRegisterAbiStackCheckIsNotProbed) {
  // A C function (ls's code): no cmp against 0x10(%r14), so no place where a probe fires once per call is known.
  auto elf = open_or_fail("/bin/ls");
  ASSERT_TRUE(elf);
  const auto& text = *elf->section(".text");
  GoFunction fake{"not-go", text.addr, text.offset, 256};
  std::string why;
  EXPECT_FALSE(go_entry_probe(*elf, fake, &why));
  EXPECT_NE(why.find("no register-ABI stack check"), std::string::npos) << why;
}

TEST(GoBinary, CorruptedTablesNeverCrash) {
  const std::string source = kGoPrograms + "/https_client-stripped";
  auto elf = open_or_fail(source);
  ASSERT_TRUE(elf);
  std::string why;
  auto table = read_go_table(*elf, &why);
  ASSERT_TRUE(table) << why;
  const uint64_t header = *elf->vaddr_to_offset(table->pclntab_vaddr);
  std::ifstream in(source, std::ios::binary);
  std::string original((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::mt19937 rng(1204);
  char name[] = "/tmp/credtrace-go-corrupt-XXXXXX";
  int fd = mkstemp(name);
  ASSERT_GE(fd, 0);
  close(fd);
  for (int round = 0; round < 60; ++round) {
    std::string copy = original;
    for (int k = 0; k < 4; ++k) {  // the header's words, the functab's first entries, the name offsets
      const uint64_t at = header + rng() % 4096;
      copy[at] = static_cast<char>(rng());
    }
    if (round % 10 == 9) copy.resize(header + rng() % 65536);  // cut inside the table
    std::ofstream(name, std::ios::binary | std::ios::trunc) << copy;
    auto damaged = ElfFile::open(name, &why);
    if (!damaged) continue;
    auto t = read_go_table(*damaged, &why);
    if (!t) continue;
    for (const auto& fn : find_go_functions(*damaged, *t, kRead)) {
      go_function_returns(*damaged, fn, &why);
      go_entry_probe(*damaged, fn, &why);
    }
  }
  unlink(name);
}

}  // namespace
}  // namespace credtrace::tls
