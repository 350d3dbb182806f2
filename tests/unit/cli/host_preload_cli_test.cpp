// Tests of `credtrace preload host-wide enable|disable|status` through the real binary on a temp file standing in for
// /etc/ld.so.preload: idempotent, other lines kept, mode kept, a missing or misnamed library refused.
#include <filesystem>

#include <gtest/gtest.h>

#include "cli_process.h"

namespace credtrace::cli {
namespace {

using testing::read_file;
using testing::Result;
using testing::TempDir;

const std::string kCredtrace = CREDTRACE_BINARY;
const std::string kNoop = NOOP_PRELOAD;  // .../libcredtrace-preload.so
const std::string kOther = OTHER_PRELOAD;

Result host_wide(const std::string& action, const std::string& file, const std::string& preload = NOOP_PRELOAD) {
  std::vector<std::string> argv = {kCredtrace, "preload", "host-wide", action, "--file", file};
  if (!preload.empty()) argv.insert(argv.end(), {"--preload", preload});
  return testing::run(argv, {}, {"CREDTRACE_PRELOAD_LIB"});
}

const std::string kOthers = "# site preloads\n/usr/lib/x86_64-linux-gnu/libother.so\n";

TEST(HostPreloadCli, EnableDisableStatusKeepOtherLines) {
  TempDir dir;
  std::string file = dir.str("ld.so.preload");
  testing::write_file(file, kOthers, 0640);

  Result status = host_wide("status", file);
  EXPECT_EQ(status.exit_code, 0);
  EXPECT_NE(status.out.find("disabled"), std::string::npos) << status.out;

  Result enable = host_wide("enable", file);
  ASSERT_EQ(enable.exit_code, 0) << enable.err;
  EXPECT_EQ(read_file(file), kOthers + kNoop + "\n");
  EXPECT_EQ(testing::file_mode(file), 0640u);

  Result again = host_wide("enable", file);
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_NE(again.out.find("already enabled"), std::string::npos) << again.out;
  EXPECT_EQ(read_file(file), kOthers + kNoop + "\n");

  status = host_wide("status", file);
  EXPECT_NE(status.out.find("enabled: " + kNoop), std::string::npos) << status.out;
  EXPECT_EQ(status.out.find("broken"), std::string::npos) << status.out;

  Result disable = host_wide("disable", file, "");
  ASSERT_EQ(disable.exit_code, 0) << disable.err;
  EXPECT_EQ(read_file(file), kOthers);
  EXPECT_EQ(testing::file_mode(file), 0640u);
  Result disable_again = host_wide("disable", file, "");
  EXPECT_EQ(disable_again.exit_code, 0);
  EXPECT_NE(disable_again.out.find("not enabled"), std::string::npos);
  EXPECT_EQ(read_file(file), kOthers);
}

TEST(HostPreloadCli, CreatesAMissingFile) {
  TempDir dir;
  std::string file = dir.str("ld.so.preload");
  EXPECT_NE(host_wide("status", file).out.find("does not exist"), std::string::npos);
  ASSERT_EQ(host_wide("enable", file).exit_code, 0);
  EXPECT_EQ(read_file(file), kNoop + "\n");
  EXPECT_EQ(testing::file_mode(file), 0644u);
}

TEST(HostPreloadCli, RefusesAMissingOrMisnamedLibrary) {
  TempDir dir;
  std::string file = dir.str("ld.so.preload");
  testing::write_file(file, kOthers);
  Result missing = host_wide("enable", file, "/nonexistent/libcredtrace-preload.so");
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("not enabled"), std::string::npos) << missing.err;
  Result misnamed = host_wide("enable", file, kOther);
  EXPECT_EQ(misnamed.exit_code, 2);
  EXPECT_NE(misnamed.err.find("not named libcredtrace-preload.so"), std::string::npos) << misnamed.err;
  testing::write_file(dir.str("libcredtrace-preload.so"), "not an ELF file");
  Result not_elf = host_wide("enable", file, dir.str("libcredtrace-preload.so"));
  EXPECT_EQ(not_elf.exit_code, 2);
  EXPECT_NE(not_elf.err.find("not an ELF shared object"), std::string::npos) << not_elf.err;
  EXPECT_EQ(read_file(file), kOthers);
}

TEST(HostPreloadCli, StatusReportsABrokenLineAndDisableStillRemovesIt) {
  TempDir dir;
  std::string file = dir.str("ld.so.preload");
  std::string gone = dir.str("old/libcredtrace-preload.so");
  testing::write_file(file, kOthers + gone + "\n");
  Result status = host_wide("status", file);
  EXPECT_NE(status.out.find("broken"), std::string::npos) << status.out;
  ASSERT_EQ(host_wide("disable", file, "").exit_code, 0);
  EXPECT_EQ(read_file(file), kOthers);
}

TEST(HostPreloadCli, EnableReplacesAnotherInstallsLine) {
  TempDir dir;
  std::string file = dir.str("ld.so.preload");
  testing::write_file(file, "/opt/old/libcredtrace-preload.so\n" + kOthers);
  ASSERT_EQ(host_wide("enable", file).exit_code, 0);
  EXPECT_EQ(read_file(file), kOthers + kNoop + "\n");
}

}  // namespace
}  // namespace credtrace::cli
