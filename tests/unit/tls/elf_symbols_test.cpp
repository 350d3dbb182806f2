// ELF lookup tests: real libssl/node symbols, the test binary's own .symtab, and malformed inputs.
#include "sensors/tls/elf_symbols.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

extern "C" __attribute__((noinline, used)) int credtrace_tls_selftest_target(int a, int b) {
  return a * 3 + b;
}

namespace credtrace::tls {
namespace {

constexpr const char* kLibssl = "/usr/lib/x86_64-linux-gnu/libssl.so.3";
constexpr const char* kNode = "/usr/bin/node";
const std::vector<std::string> kSslNames = {"SSL_write",   "SSL_read", "SSL_write_ex", "SSL_read_ex",
                                            "SSL_ctrl",    "SSL_new",  "SSL_free"};

uint64_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

void expect_all_found(const std::string& path) {
  std::string error;
  auto fns = find_functions(path, kSslNames, &error);
  ASSERT_TRUE(fns.has_value()) << error;
  ASSERT_EQ(fns->size(), kSslNames.size());
  const uint64_t size = file_size(path);
  for (size_t i = 0; i < fns->size(); ++i) {
    const auto& fn = (*fns)[i];
    SCOPED_TRACE(fn.name);
    EXPECT_EQ(fn.name, kSslNames[i]);  // order of the request
    EXPECT_GT(fn.size, 0u);
    EXPECT_GT(fn.file_offset, 0u);
    EXPECT_LT(fn.file_offset + fn.size, size);
  }
}

TEST(ElfSymbols, FindsSslFunctionsInLibssl) {
  if (access(kLibssl, R_OK) != 0) GTEST_SKIP() << kLibssl << " is not installed";
  expect_all_found(kLibssl);
  std::string error;
  auto fns = find_functions(kLibssl, {"SSL_write"}, &error);
  ASSERT_TRUE(fns && fns->size() == 1);
  // Shared object whose text PT_LOAD has p_offset == p_vaddr: offset equals vaddr here.
  EXPECT_EQ(fns->front().file_offset, fns->front().vaddr);
}

TEST(ElfSymbols, FindsSslFunctionsInNodeWithOffsetTranslation) {
  if (access(kNode, R_OK) != 0) GTEST_SKIP() << kNode << " is not installed";
  expect_all_found(kNode);
  std::string error;
  auto fns = find_functions(kNode, {"SSL_write"}, &error);
  ASSERT_TRUE(fns && fns->size() == 1);
  // Non-PIE executable: vaddr 0x400000-based, file offset differs (text PT_LOAD vaddr - offset = 0x400000).
  EXPECT_NE(fns->front().file_offset, fns->front().vaddr);
  auto code = read_function_bytes(kNode, fns->front(), 1);
  ASSERT_TRUE(code && code->size() == 1);
  EXPECT_EQ((*code)[0], 0x55);  // push %rbp
}

TEST(ElfSymbols, OwnSymtabFunctionBytesMatchMemory) {
  std::string error;
  auto fns = find_functions("/proc/self/exe", {"credtrace_tls_selftest_target"}, &error);
  ASSERT_TRUE(fns.has_value()) << error;
  ASSERT_EQ(fns->size(), 1u);
  const auto& fn = fns->front();
  ASSERT_GT(fn.size, 0u);
  auto bytes = read_function_bytes("/proc/self/exe", fn, 4096);
  ASSERT_TRUE(bytes.has_value());
  ASSERT_EQ(bytes->size(), fn.size);
  auto* fp = &credtrace_tls_selftest_target;
  std::vector<uint8_t> in_memory(fn.size);
  std::memcpy(in_memory.data(), reinterpret_cast<const void*>(fp), in_memory.size());
  EXPECT_EQ(*bytes, in_memory);
  EXPECT_EQ(credtrace_tls_selftest_target(1, 2), 5);
}

TEST(ElfSymbols, MissingNamesAreAbsentAndDuplicatesOnce) {
  if (access(kLibssl, R_OK) != 0) GTEST_SKIP() << kLibssl << " is not installed";
  std::string error;
  auto fns = find_functions(kLibssl, {"SSL_write", "no_such_function_xyz", "SSL_write", "SSL_w"}, &error);
  ASSERT_TRUE(fns.has_value()) << error;
  ASSERT_EQ(fns->size(), 1u);
  EXPECT_EQ(fns->front().name, "SSL_write");
}

TEST(ElfSymbols, ReadFunctionBytesHonoursSizeAndLimit) {
  if (access(kLibssl, R_OK) != 0) GTEST_SKIP() << kLibssl << " is not installed";
  std::string error;
  auto fns = find_functions(kLibssl, {"SSL_write_ex"}, &error);
  ASSERT_TRUE(fns && fns->size() == 1);
  const auto& fn = fns->front();
  EXPECT_EQ(read_function_bytes(kLibssl, fn, 4096)->size(), fn.size);
  EXPECT_EQ(read_function_bytes(kLibssl, fn, 4)->size(), 4u);
  ElfFunction past_end{"x", file_size(kLibssl) + 10, 0, 16};
  EXPECT_FALSE(read_function_bytes(kLibssl, past_end, 16).has_value());
  EXPECT_FALSE(read_function_bytes("/nonexistent/file", fn, 16).has_value());
}

class TempFile {
 public:
  explicit TempFile(const std::string& contents) {
    char name[] = "/tmp/credtrace_tls_XXXXXX";
    const int fd = ::mkstemp(name);
    if (fd >= 0) {
      path_ = name;
      if (::write(fd, contents.data(), contents.size()) != static_cast<ssize_t>(contents.size())) path_.clear();
      ::close(fd);
    }
  }
  ~TempFile() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(ElfSymbols, RejectsMissingAndMalformedFiles) {
  std::string error;
  EXPECT_FALSE(find_functions("/nonexistent/file", {"f"}, &error).has_value());
  EXPECT_NE(error.find("/nonexistent/file"), std::string::npos);

  TempFile garbage("this is not an ELF file at all, just text padding to exceed a header....");
  ASSERT_FALSE(garbage.path().empty());
  error.clear();
  EXPECT_FALSE(find_functions(garbage.path(), {"f"}, &error).has_value());
  EXPECT_NE(error.find("ELF"), std::string::npos);

  TempFile empty("");
  EXPECT_FALSE(find_functions(empty.path(), {"f"}, nullptr).has_value());

  // A valid ELF64 identification with program headers pointing far past the end of the file.
  std::string header(64, '\0');
  std::memcpy(header.data(), "\x7f" "ELF\x02\x01\x01", 7);
  header[32] = '\x40';  // e_phoff low byte … (0x40) and below a huge count
  header[54] = 56;      // e_phentsize
  header[56] = '\xff';  // e_phnum = 0xffff
  header[57] = '\xff';
  TempFile truncated(header);
  error.clear();
  EXPECT_FALSE(find_functions(truncated.path(), {"f"}, &error).has_value());
  EXPECT_NE(error.find("malformed"), std::string::npos);
}

TEST(ElfSymbols, TruncatedCopiesOfARealLibraryNeverCrash) {
  if (access(kLibssl, R_OK) != 0) GTEST_SKIP() << kLibssl << " is not installed";
  std::ifstream in(kLibssl, std::ios::binary);
  std::string whole((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(whole.size(), 4096u);
  for (size_t cut : {size_t{16}, size_t{64}, size_t{1000}, whole.size() / 2, whole.size() - 100}) {
    TempFile part(whole.substr(0, cut));
    std::string error;
    auto fns = find_functions(part.path(), kSslNames, &error);  // must not crash; may fail or find fewer
    if (fns) {
      EXPECT_LE(fns->size(), kSslNames.size());
    }
  }
}

// Corrupts bytes of the ELF header, program headers and section headers (at e_shoff) of a real library.
TEST(ElfSymbols, CorruptedHeadersNeverCrash) {
  if (access(kLibssl, R_OK) != 0) GTEST_SKIP() << kLibssl << " is not installed";
  std::ifstream in(kLibssl, std::ios::binary);
  std::string whole((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(whole.size(), 4096u);
  uint64_t shoff = 0;
  std::memcpy(&shoff, whole.data() + 0x28, sizeof(shoff));
  ASSERT_LT(shoff, whole.size());
  uint64_t state = 0x2545f4914f6cdd1dull;
  auto next = [&state] {
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    return state;
  };
  for (int round = 0; round < 40; ++round) {
    std::string copy = whole;
    for (int flips = 0; flips < 8; ++flips) {
      const bool headers = next() % 2 == 0;
      const uint64_t base = headers ? 0 : shoff;
      const uint64_t span = headers ? 0x200 : whole.size() - shoff;
      copy[base + next() % span] = static_cast<char>(next());
    }
    TempFile mutated(copy);
    std::string error;
    auto fns = find_functions(mutated.path(), kSslNames, &error);
    if (fns) {
      for (const auto& fn : *fns) EXPECT_FALSE(fn.name.empty());
    }
  }
}

}  // namespace
}  // namespace credtrace::tls
