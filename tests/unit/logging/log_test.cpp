// Tests of the logger: level filtering, configuration, journald detection, masking of secrets, whole lines.
#include "logging/log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "test_tokens.h"

namespace credtrace::log {
namespace {

using secrets::testing::github_pat;
using secrets::testing::openai_project_key;

// Captures the logger's lines for one test and restores a quiet default afterwards.
class LogTest : public ::testing::Test {
 protected:
  void TearDown() override { configure(Options{}); }

  // Starts a new capture: earlier lines are forgotten.
  void capture(Level level, Format format = Format::text, SyslogPrefix prefix = SyslogPrefix::off) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      lines_.clear();
    }
    Options options;
    options.component = "credtrace-test";
    options.level = level;
    options.format = format;
    options.syslog_prefix = prefix;
    options.timestamps = false;
    options.writer = [this](std::string_view line) {
      std::lock_guard<std::mutex> lock(mutex_);
      lines_.emplace_back(line);
    };
    configure(std::move(options));
  }

  std::vector<std::string> lines() {
    std::lock_guard<std::mutex> lock(mutex_);
    return lines_;
  }

  std::string all() {
    std::string out;
    for (const std::string& line : lines()) out += line;
    return out;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> lines_;
};

TEST_F(LogTest, LevelFiltersBelow) {
  capture(Level::warn);
  trace("t");
  debug("d");
  info("i");
  warn("w");
  error("e");
  EXPECT_EQ(lines(), (std::vector<std::string>{"credtrace-test: warn: w\n", "credtrace-test: error: e\n"}));
  EXPECT_FALSE(enabled(Level::info));
  EXPECT_TRUE(enabled(Level::warn));
  EXPECT_EQ(level(), Level::warn);

  set_level(Level::debug);
  trace("t2");
  debug("d2");
  EXPECT_EQ(lines().back(), "credtrace-test: debug: d2\n");
  EXPECT_EQ(lines().size(), 3u);
  set_level(Level::trace);
  trace("t3");
  EXPECT_EQ(lines().back(), "credtrace-test: trace: t3\n");
}

TEST_F(LogTest, MessagesAreNotFormatStrings) {
  capture(Level::info);
  info("100% {} {0} {:>9}");
  EXPECT_EQ(all(), "credtrace-test: info: 100% {} {0} {:>9}\n");
}

TEST_F(LogTest, JsonLinesParse) {
  capture(Level::info, Format::json);
  info("path \"/etc/x\"\nnext");
  error("bad \\ value");
  std::vector<std::string> got = lines();
  ASSERT_EQ(got.size(), 2u);
  nlohmann::json first = nlohmann::json::parse(got[0]);
  EXPECT_EQ(first["level"], "info");
  EXPECT_EQ(first["component"], "credtrace-test");
  EXPECT_EQ(first["msg"], "path \"/etc/x\"\nnext");
  EXPECT_TRUE(first["ts"].get<std::string>().ends_with("Z"));
  EXPECT_EQ(nlohmann::json::parse(got[1])["msg"], "bad \\ value");
}

TEST_F(LogTest, SyslogPrefixOn) {
  capture(Level::info, Format::text, SyslogPrefix::on);
  warn("w");
  EXPECT_EQ(all(), "<4>credtrace-test: warn: w\n");
}

TEST_F(LogTest, GitHubPatAndOpenAiKeyNeverReachTheOutput) {
  std::mt19937 rng(1201);
  const std::string pat = github_pat(rng);
  const std::string openai = openai_project_key(rng, "sk-proj-", 74);
  for (Format format : {Format::text, Format::json}) {
    capture(Level::trace, format);
    error("collector rejected the token " + pat);
    warn("env OPENAI_API_KEY=" + openai + " seen");
    info("url https://user:" + pat + "@example.com/x and Authorization: Bearer " + openai);
    debug(openai);
    spdlog::warn("a direct spdlog call: {}", pat);  // the default spdlog logger is ours, with the same sink
    const std::string out = all();
    EXPECT_EQ(lines().size(), 5u) << out;
    EXPECT_EQ(out.find(pat), std::string::npos) << out;
    EXPECT_EQ(out.find(openai), std::string::npos) << out;
    EXPECT_EQ(out.find(openai.substr(8, 20)), std::string::npos) << out;  // no fragment of the key either
    EXPECT_NE(out.find("<redacted:github_pat>"), std::string::npos) << out;
    EXPECT_NE(out.find("<redacted:openai>"), std::string::npos) << out;
    EXPECT_EQ(mask_secrets("token " + pat), "token <redacted:github_pat>");
  }
}

TEST_F(LogTest, ConcurrentLinesStayWhole) {
  capture(Level::info, Format::json);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < 200; ++i) info("thread " + std::to_string(t) + " message " + std::to_string(i));
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::vector<std::string> got = lines();
  ASSERT_EQ(got.size(), 800u);
  for (const std::string& line : got) {
    EXPECT_EQ(line.find('\n'), line.size() - 1);
    EXPECT_TRUE(nlohmann::json::accept(line)) << line;
  }
}

TEST(LogNames, ParseAndName) {
  EXPECT_EQ(parse_level("trace"), Level::trace);
  EXPECT_EQ(parse_level("DEBUG"), Level::debug);
  EXPECT_EQ(parse_level("info"), Level::info);
  EXPECT_EQ(parse_level("warn"), Level::warn);
  EXPECT_EQ(parse_level("warning"), Level::warn);
  EXPECT_EQ(parse_level("error"), Level::error);
  EXPECT_EQ(parse_level("verbose"), std::nullopt);
  EXPECT_EQ(parse_level(""), std::nullopt);
  EXPECT_EQ(parse_format("json"), Format::json);
  EXPECT_EQ(parse_format("text"), Format::text);
  EXPECT_EQ(parse_format("logfmt"), std::nullopt);
  EXPECT_EQ(parse_syslog_prefix("auto"), SyslogPrefix::automatic);
  EXPECT_EQ(parse_syslog_prefix("on"), SyslogPrefix::on);
  EXPECT_EQ(parse_syslog_prefix("true"), SyslogPrefix::on);
  EXPECT_EQ(parse_syslog_prefix("off"), SyslogPrefix::off);
  EXPECT_EQ(parse_syslog_prefix("no"), SyslogPrefix::off);
  EXPECT_EQ(parse_syslog_prefix("sometimes"), std::nullopt);
  for (Level l : {Level::trace, Level::debug, Level::info, Level::warn, Level::error})
    EXPECT_EQ(parse_level(level_name(l)), l);
  EXPECT_EQ(format_name(Format::json), "json");
  EXPECT_EQ(syslog_prefix_name(SyslogPrefix::automatic), "auto");
}

// A file's "DEVICE:INODE" as systemd puts it in $JOURNAL_STREAM.
std::string stream_id(int fd) {
  struct stat st {};
  EXPECT_EQ(::fstat(fd, &st), 0);
  return std::to_string(static_cast<unsigned long long>(st.st_dev)) + ":" +
         std::to_string(static_cast<unsigned long long>(st.st_ino));
}

// Sets or unsets $JOURNAL_STREAM for one scope.
class JournalStreamEnv {
 public:
  JournalStreamEnv() {
    const char* old = std::getenv("JOURNAL_STREAM");
    if (old != nullptr) saved_ = old;
    had_ = old != nullptr;
  }
  ~JournalStreamEnv() {
    if (had_) ::setenv("JOURNAL_STREAM", saved_.c_str(), 1);
    else ::unsetenv("JOURNAL_STREAM");
  }
  void set(const std::string& value) { ::setenv("JOURNAL_STREAM", value.c_str(), 1); }
  void unset() { ::unsetenv("JOURNAL_STREAM"); }

 private:
  std::string saved_;
  bool had_ = false;
};

TEST(JournalStream, MatchesOnlyTheNamedFile) {
  char path[] = "/tmp/credtrace-journal-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  char other_path[] = "/tmp/credtrace-journal-XXXXXX";
  int other = ::mkstemp(other_path);
  ASSERT_GE(other, 0);
  JournalStreamEnv env;
  env.set(stream_id(fd));
  EXPECT_TRUE(is_journal_stream(fd));
  EXPECT_FALSE(is_journal_stream(other));
  for (const char* bad : {"", ":", "12", "12:", ":34", "x:y", "1:2:3"}) {
    env.set(bad);
    EXPECT_FALSE(is_journal_stream(fd)) << bad;
  }
  env.unset();
  EXPECT_FALSE(is_journal_stream(fd));
  ::close(fd);
  ::close(other);
  ::unlink(path);
  ::unlink(other_path);
}

TEST(JournalStream, AutomaticPrefixWhenStderrIsTheJournal) {
  char path[] = "/tmp/credtrace-journal-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  const int saved_stderr = ::dup(STDERR_FILENO);
  ASSERT_GE(saved_stderr, 0);
  ASSERT_GE(::dup2(fd, STDERR_FILENO), 0);
  JournalStreamEnv env;
  env.set(stream_id(STDERR_FILENO));
  Options options;
  options.component = "credtrace-test";
  configure(options);  // default writer: stderr, which is now the "journal"
  error("to the journal");
  env.unset();
  configure(options);
  info("not the journal any more");
  configure(Options{});
  ::dup2(saved_stderr, STDERR_FILENO);
  ::close(saved_stderr);
  std::string written(4096, '\0');
  ssize_t n = ::pread(fd, written.data(), written.size(), 0);
  ASSERT_GT(n, 0);
  written.resize(static_cast<size_t>(n));
  ::close(fd);
  ::unlink(path);
  EXPECT_TRUE(written.starts_with("<3>credtrace-test: error: to the journal\n")) << written;
  const std::string second = written.substr(written.find('\n') + 1);
  EXPECT_FALSE(second.starts_with("<")) << second;  // a file: timestamped, no prefix, no colour
  EXPECT_TRUE(second.ends_with("Z credtrace-test: info: not the journal any more\n")) << second;
}

}  // namespace
}  // namespace credtrace::log
