// Tests of `credtrace wrap` through the real binary on fixture configs of every JSON shape: the rewrite, idempotence,
// the backup, --undo restoring exactly, --dry-run, mode and symlinks kept, and the errors (malformed, comments, TOML).
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_process.h"

namespace credtrace::cli {
namespace {

using Json = nlohmann::ordered_json;
using testing::read_file;
using testing::Result;
using testing::run;
using testing::TempDir;

const std::string kCredtrace = CREDTRACE_BINARY;

std::string fixture(const std::string& name) { return std::string(CREDTRACE_FIXTURES) + "/wrap/" + name; }

// A copy of a fixture in a temp directory, mode 0600 (client configs hold secrets).
struct Config {
  explicit Config(const std::string& name) : path(dir.str(name)) {
    testing::write_file(path, read_file(fixture(name)), 0600);
  }
  TempDir dir;
  std::string path;
  std::string backup() const { return path + ".credtrace-backup"; }
};

Result wrap(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {kCredtrace, "wrap"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, {}, {"CREDTRACE_LOG_FORMAT", "CREDTRACE_LOG_LEVEL"});
}

struct Shape {
  std::string file;
  std::vector<std::string> maps;  // JSON pointers of the server maps
  int stdio = 0;                  // entries wrap must rewrite
};

const std::vector<Shape>& shapes() {
  static const std::vector<Shape> all = {
      {"claude_desktop_config.json", {"/mcpServers"}, 2},
      {"claude.json", {"/mcpServers", "/projects/~1home~1u~1src~1api/mcpServers"}, 2},
      {"cursor_mcp.json", {"/mcpServers"}, 1},
      {"vscode_mcp.json", {"/servers"}, 1},
      {"zed_settings.json", {"/context_servers"}, 1},
      {"windsurf_mcp_config.json", {"/mcpServers"}, 1},
      {"gemini_settings.json", {"/mcpServers"}, 1},
  };
  return all;
}

// The wrapped document with every wrapped entry's command and args put back as they were: must be the original.
void expect_only_stdio_entries_wrapped(const Shape& shape, const Json& original, Json wrapped) {
  int seen = 0;
  for (const std::string& map : shape.maps) {
    Json::json_pointer pointer(map);
    for (auto& [name, entry] : wrapped[pointer].items()) {
      const Json& before = original[pointer][name];
      if (!before.contains("command") || !before["command"].is_string()) {
        EXPECT_EQ(entry, before) << shape.file << " " << name << " (not a stdio entry) changed";
        continue;
      }
      ++seen;
      Json expected_args = Json::array({"run", "--name", name, "--", before["command"]});
      for (const Json& arg : before.value("args", Json::array())) expected_args.push_back(arg);
      EXPECT_EQ(entry["command"], kCredtrace) << shape.file << " " << name;
      EXPECT_EQ(entry["args"], expected_args) << shape.file << " " << name;
      entry["command"] = before["command"];
      if (before.contains("args")) entry["args"] = before["args"];
      else entry.erase("args");
    }
  }
  EXPECT_EQ(seen, shape.stdio) << shape.file;
  EXPECT_EQ(wrapped.dump(), original.dump()) << shape.file << ": content or key order outside command/args changed";
}

TEST(WrapCli, RoundTripOfEveryShape) {
  for (const Shape& shape : shapes()) {
    Config config(shape.file);
    std::string before = read_file(config.path);
    Json original = Json::parse(before);

    Result wrapped = wrap({config.path});
    ASSERT_EQ(wrapped.exit_code, 0) << shape.file << ": " << wrapped.err;
    EXPECT_NE(wrapped.out.find(std::to_string(shape.stdio) + " wrapped of "), std::string::npos) << wrapped.out;
    std::string after = read_file(config.path);
    expect_only_stdio_entries_wrapped(shape, original, Json::parse(after));
    EXPECT_EQ(read_file(config.backup()), before) << shape.file;
    EXPECT_EQ(testing::file_mode(config.path), 0600u);
    EXPECT_EQ(testing::file_mode(config.backup()), 0600u);

    Result again = wrap({config.path});  // idempotent: nothing to do, file untouched
    EXPECT_EQ(again.exit_code, 0) << again.err;
    EXPECT_NE(again.out.find("already wrapped"), std::string::npos) << again.out;
    EXPECT_NE(again.out.find("nothing to write"), std::string::npos) << again.out;
    EXPECT_EQ(read_file(config.path), after) << shape.file;

    Result undone = wrap({config.path, "--undo"});
    ASSERT_EQ(undone.exit_code, 0) << shape.file << ": " << undone.err;
    EXPECT_EQ(Json::parse(read_file(config.path)).dump(), original.dump()) << shape.file;
    EXPECT_EQ(read_file(config.backup()), before) << "the backup is the config before the first wrap";
    EXPECT_EQ(testing::file_mode(config.path), 0600u);
  }
}

TEST(WrapCli, KeepsIndentationAndFinalNewline) {
  Config tabs("windsurf_mcp_config.json");
  ASSERT_EQ(wrap({tabs.path}).exit_code, 0);
  std::string text = read_file(tabs.path);
  EXPECT_NE(text.find("\n\t\"mcpServers\""), std::string::npos) << text;
  EXPECT_EQ(text.back(), '\n');
  Config four("vscode_mcp.json");
  ASSERT_EQ(wrap({four.path}).exit_code, 0);
  EXPECT_NE(read_file(four.path).find("\n    \"servers\""), std::string::npos);
}

TEST(WrapCli, WrappedEntryWithoutArgsGetsThemAfterCommandAndUndoRemovesThem) {
  Config config("windsurf_mcp_config.json");
  ASSERT_EQ(wrap({config.path}).exit_code, 0);
  Json local = Json::parse(read_file(config.path))["mcpServers"]["local"];
  std::vector<std::string> keys;
  for (auto& [key, value] : local.items()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"command", "args", "disabled"}));
  ASSERT_EQ(wrap({config.path, "--undo"}).exit_code, 0);
  EXPECT_EQ(read_file(config.path), read_file(fixture("windsurf_mcp_config.json")));  // byte for byte, here
}

TEST(WrapCli, DryRunWritesNothing) {
  Config config("claude_desktop_config.json");
  std::string before = read_file(config.path);
  Result r = wrap({config.path, "--dry-run"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("mcpServers.github: wrapped (npx)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("dry run: nothing written"), std::string::npos) << r.out;
  EXPECT_EQ(read_file(config.path), before);
  EXPECT_FALSE(std::filesystem::exists(config.backup()));
}

TEST(WrapCli, BackupIsWrittenOnceAndKept) {
  Config config("cursor_mcp.json");
  std::string first = read_file(config.path);
  ASSERT_EQ(wrap({config.path}).exit_code, 0);
  ASSERT_EQ(wrap({config.path, "--undo"}).exit_code, 0);
  Json changed = Json::parse(read_file(config.path));
  changed["mcpServers"]["new"] = Json{{"command", "uvx"}, {"args", Json::array({"new-server"})}};
  testing::write_file(config.path, changed.dump(2) + "\n", 0600);
  Result r = wrap({config.path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("exists, kept"), std::string::npos) << r.out;
  EXPECT_EQ(read_file(config.backup()), first);
}

TEST(WrapCli, UndoLeavesWhatTheUserChangedAndEntriesItDidNotWrap) {
  Config config("claude_desktop_config.json");
  ASSERT_EQ(wrap({config.path}).exit_code, 0);
  Json edited = Json::parse(read_file(config.path));
  edited["mcpServers"]["github"]["env"]["GITHUB_HOST"] = "github.example.com";  // a user edit after wrap
  edited["mcpServers"]["filesystem"]["command"] = "/usr/local/bin/node";       // unwrapped by hand
  edited["mcpServers"]["filesystem"]["args"] = Json::array({"/opt/fs.js"});
  testing::write_file(config.path, edited.dump(2) + "\n", 0600);
  Result r = wrap({config.path, "--undo"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("mcpServers.filesystem: unchanged: not wrapped"), std::string::npos) << r.out;
  Json undone = Json::parse(read_file(config.path));
  Json original = Json::parse(read_file(fixture("claude_desktop_config.json")));
  EXPECT_EQ(undone["mcpServers"]["github"]["command"], "npx");
  EXPECT_EQ(undone["mcpServers"]["github"]["args"], original["mcpServers"]["github"]["args"]);
  EXPECT_EQ(undone["mcpServers"]["github"]["env"]["GITHUB_HOST"], "github.example.com");
  EXPECT_EQ(undone["mcpServers"]["filesystem"]["command"], "/usr/local/bin/node");
}

TEST(WrapCli, CredtraceOptionAndSymlinkedConfig) {
  Config config("gemini_settings.json");
  std::string link = config.dir.str("link.json");
  ASSERT_EQ(::symlink(config.path.c_str(), link.c_str()), 0);
  Result r = wrap({link, "--credtrace", kCredtrace});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::is_symlink(link)) << "the symlink was replaced by a file";
  EXPECT_EQ(Json::parse(read_file(config.path))["mcpServers"]["maps"]["command"], kCredtrace);
  Result bad = wrap({config.path, "--undo"});
  EXPECT_EQ(bad.exit_code, 0);
  Result not_executable = wrap({config.path, "--credtrace", "/nonexistent/credtrace"});
  EXPECT_EQ(not_executable.exit_code, 2);
  EXPECT_NE(not_executable.err.find("--credtrace"), std::string::npos) << not_executable.err;
}

// What the client will run: the wrapped entry's command and args, executed, reach the server with the preload.
TEST(WrapCli, WrappedEntryRunsTheServerWithThePreload) {
  TempDir dir;
  std::string path = dir.str("mcp.json");
  Json config = {{"mcpServers",
                  {{"echo", {{"command", "/bin/sh"},
                             {"args", Json::array({"-c", "echo \"$CREDTRACE_SERVER_NAME $LD_PRELOAD\"; exit 4"})}}}}}};
  testing::write_file(path, config.dump(2) + "\n", 0600);
  ASSERT_EQ(wrap({path}).exit_code, 0);
  Json entry = Json::parse(read_file(path))["mcpServers"]["echo"];
  std::vector<std::string> argv = {entry["command"].get<std::string>()};
  for (const Json& arg : entry["args"]) argv.push_back(arg.get<std::string>());
  Result r = run(argv, {std::string("CREDTRACE_PRELOAD_LIB=") + NOOP_PRELOAD}, {"LD_PRELOAD", "CREDTRACE_SERVER_NAME"});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_EQ(r.out, std::string("echo ") + NOOP_PRELOAD + "\n");
}

void expect_error(const std::string& file, const std::string& message) {
  Config config(file);
  std::string before = read_file(config.path);
  Result r = wrap({config.path});
  EXPECT_EQ(r.exit_code, 2) << file;
  EXPECT_NE(r.err.find(message), std::string::npos) << file << ": " << r.err;
  EXPECT_EQ(read_file(config.path), before) << file;
  EXPECT_FALSE(std::filesystem::exists(config.backup())) << file;
}

TEST(WrapCli, ClearErrors) {
  expect_error("malformed.json", "malformed JSON near line 3");
  expect_error("with_comments.json", "has comments (JSONC)");
  expect_error("no_servers.json", "no MCP servers found");
  expect_error("codex_config.toml", "TOML configs");
  expect_error("continue_config.yaml", "YAML configs");
  Result missing = wrap({"/nonexistent/mcp.json"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("/nonexistent/mcp.json: No such file or directory"), std::string::npos) << missing.err;
}

TEST(WrapCli, NeverPrintsArgsOrEnvValues) {
  Config config("claude.json");
  Result r = wrap({config.path});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.find("postgresql://"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("GITLAB_API_URL"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace credtrace::cli
