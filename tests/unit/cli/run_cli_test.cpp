// Tests of `credtrace run` through the real launcher: exit codes and signals are the command's, the process is the
// command (same pid), LD_PRELOAD is set once and keeps what was there, --name, a missing library, a missing command.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "cli_process.h"

namespace credtrace::cli {
namespace {

using testing::Child;
using testing::parse_env;
using testing::Result;
using testing::run;

const std::string kCredtrace = CREDTRACE_BINARY;
const std::string kCredtraceCli = CREDTRACE_CLI_BINARY;
const std::string kNoop = NOOP_PRELOAD;         // .../libcredtrace-preload.so, a library that does nothing
const std::string kOther = OTHER_PRELOAD;       // .../libother-preload.so, another such library
const std::vector<std::string> kClean = {"LD_PRELOAD", "CREDTRACE_PRELOAD_LIB", "CREDTRACE_SERVER_NAME"};
// An ASan build of credtrace started with a library ahead of libasan must not abort over the link order.
const std::string kAsanLinkOrder = "ASAN_OPTIONS=verify_asan_link_order=0";

std::vector<std::string> run_args(const std::vector<std::string>& command) {
  std::vector<std::string> args = {kCredtrace, "run", "--preload", kNoop, "--"};
  args.insert(args.end(), command.begin(), command.end());
  return args;
}

TEST(RunCli, ExitCodeIsTheCommands) {
  for (int code : {0, 3, 42}) {
    Result r = run(run_args({"/bin/sh", "-c", "exit " + std::to_string(code)}), {}, kClean);
    EXPECT_TRUE(r.exited) << code;
    EXPECT_EQ(r.exit_code, code);
    EXPECT_EQ(r.err, "");
  }
}

TEST(RunCli, CommandKilledBySignalShowsAsSignaled) {
  for (int sig : {SIGTERM, SIGKILL}) {
    Result r = run(run_args({"/bin/sh", "-c", "kill -" + std::to_string(sig) + " $$"}), {}, kClean);
    EXPECT_FALSE(r.exited) << sig;
    EXPECT_EQ(r.signal, sig);
  }
}

std::string comm_of(pid_t pid) {
  std::string comm = testing::read_file("/proc/" + std::to_string(pid) + "/comm");
  return comm.empty() ? comm : comm.substr(0, comm.size() - 1);
}

TEST(RunCli, IsTheCommandSoASignalToItsPidReachesTheCommand) {
  Child child(run_args({"/bin/sleep", "30"}), {}, kClean);
  ASSERT_GT(child.pid(), 0);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (comm_of(child.pid()) != "sleep" && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(comm_of(child.pid()), "sleep") << "the pid credtrace run started as is not the command";
  ASSERT_EQ(::kill(child.pid(), SIGTERM), 0);
  Result r = child.wait();
  EXPECT_FALSE(r.exited);
  EXPECT_EQ(r.signal, SIGTERM);
}

TEST(RunCli, SetsLdPreload) {
  Result r = run(run_args({"/usr/bin/env"}), {}, kClean);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(parse_env(r.out)["LD_PRELOAD"], kNoop);
  EXPECT_EQ(parse_env(r.out).count("CREDTRACE_SERVER_NAME"), 0u);
}

TEST(RunCli, PutsItFirstAndKeepsExistingEntries) {
  Result r = run(run_args({"/usr/bin/env"}), {"LD_PRELOAD=" + kOther, kAsanLinkOrder}, kClean);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(parse_env(r.out)["LD_PRELOAD"], kNoop + ":" + kOther);
}

TEST(RunCli, NeverAddsItTwice) {
  std::string existing = kOther + " " + kNoop;  // ld.so takes spaces and colons
  Result r = run(run_args({"/usr/bin/env"}), {"LD_PRELOAD=" + existing, kAsanLinkOrder}, kClean);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(parse_env(r.out)["LD_PRELOAD"], existing);
  // credtrace run inside credtrace run (a wrapped server that starts a wrapped server): still once.
  Result nested = run(run_args({kCredtrace, "run", "--preload", kNoop, "--", "/usr/bin/env"}), {kAsanLinkOrder}, kClean);
  ASSERT_EQ(nested.exit_code, 0) << nested.err;
  EXPECT_EQ(parse_env(nested.out)["LD_PRELOAD"], kNoop);
}

TEST(RunCli, NameSetsServerName) {
  Result r = run({kCredtrace, "run", "--name", "github", "--preload", kNoop, "--", "/usr/bin/env"}, {}, kClean);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(parse_env(r.out)["CREDTRACE_SERVER_NAME"], "github");
  Result equals = run({kCredtrace, "run", "--name=my server", "--preload=" + kNoop, "/usr/bin/env"}, {}, kClean);
  ASSERT_EQ(equals.exit_code, 0) << equals.err;
  EXPECT_EQ(parse_env(equals.out)["CREDTRACE_SERVER_NAME"], "my server");
  EXPECT_EQ(parse_env(equals.out)["LD_PRELOAD"], kNoop);
}

TEST(RunCli, LibraryFromTheEnvironment) {
  Result r = run({kCredtrace, "run", "--", "/usr/bin/env"}, {"CREDTRACE_PRELOAD_LIB=" + kNoop}, kClean);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(parse_env(r.out)["LD_PRELOAD"], kNoop);
  EXPECT_EQ(r.err, "");
}

TEST(RunCli, MissingLibraryWarnsAndStillRunsTheCommand) {
  Result r = run({kCredtrace, "run", "--preload", "/nonexistent/libcredtrace-preload.so", "--", "/bin/sh", "-c",
                  "env; exit 7"},
                 {}, kClean);
  EXPECT_EQ(r.exit_code, 7);
  EXPECT_EQ(parse_env(r.out).count("LD_PRELOAD"), 0u);
  EXPECT_NE(r.err.find("credtrace run: warn: --preload /nonexistent/libcredtrace-preload.so"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("without the preload sensor"), std::string::npos) << r.err;
  Result from_env = run({kCredtrace, "run", "--", "/usr/bin/env"}, {"CREDTRACE_PRELOAD_LIB=/nonexistent/x.so"}, kClean);
  EXPECT_EQ(from_env.exit_code, 0);
  EXPECT_NE(from_env.err.find("$CREDTRACE_PRELOAD_LIB /nonexistent/x.so"), std::string::npos) << from_env.err;
}

TEST(RunCli, MissingCommandIs127AndNotExecutableIs126) {
  Result missing = run(run_args({"credtrace-no-such-command"}), {}, kClean);
  EXPECT_EQ(missing.exit_code, 127);
  EXPECT_NE(missing.err.find("credtrace-no-such-command: command not found"), std::string::npos) << missing.err;
  Result missing_path = run(run_args({"/nonexistent/cmd"}), {}, kClean);
  EXPECT_EQ(missing_path.exit_code, 127);
  testing::TempDir dir;
  testing::write_file(dir.str("script"), "#!/bin/sh\nexit 0\n", 0644);
  Result not_executable = run(run_args({dir.str("script")}), {}, kClean);
  EXPECT_EQ(not_executable.exit_code, 126);
  EXPECT_NE(not_executable.err.find("Permission denied"), std::string::npos) << not_executable.err;
}

TEST(RunCli, BadUsageIs125) {
  EXPECT_EQ(run({kCredtrace, "run"}, {}, kClean).exit_code, 125);
  EXPECT_EQ(run({kCredtrace, "run", "--preload", kNoop, "--"}, {}, kClean).exit_code, 125);
  EXPECT_EQ(run({kCredtrace, "run", "--bogus", "--", "/bin/true"}, {}, kClean).exit_code, 125);
  EXPECT_EQ(run({kCredtrace, "run", "--name"}, {}, kClean).exit_code, 125);
  Result help = run({kCredtrace, "run", "--help"}, {}, kClean);
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("becomes CMD (execvp)"), std::string::npos);
}

TEST(RunCli, AfterGlobalFlagsAndThroughTheFullCli) {
  Result r = run({kCredtrace, "--log-level", "warn", "run", "--name", "x", "--preload", kNoop, "--", "/bin/sh", "-c",
                  "test \"$CREDTRACE_SERVER_NAME\" = x && exit 42"},
                 {}, kClean);
  EXPECT_EQ(r.exit_code, 42) << r.err;
  Result direct = run({kCredtraceCli, "run", "--preload", kNoop, "--", "/bin/sh", "-c", "exit 3"}, {}, kClean);
  EXPECT_EQ(direct.exit_code, 3) << direct.err;
}

TEST(RunCli, OtherCommandsReachTheFullCli) {
  Result version = run({kCredtrace, "--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_FALSE(version.out.empty());
  Result help = run({kCredtrace, "--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* command : {"scan", "run", "wrap", "preload"})
    EXPECT_NE(help.out.find(std::string("  ") + command + " "), std::string::npos) << command;
}

}  // namespace
}  // namespace credtrace::cli
