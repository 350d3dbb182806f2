// Tests of the `credtrace scan` binary: every MCP client's config shape, JSON and SARIF fields, exit codes,
// fingerprint keys, default home scan, skipped directories, diagnostics, and no raw secret in stdout or stderr.
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "credfiles_test_util.h"

extern char** environ;

namespace credtrace::credfiles {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using testing::TempDir;

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs credtrace with `args`; `env` entries ("NAME=value") replace or add to this process's environment.
RunResult run_credtrace(const std::vector<std::string>& args, const std::vector<std::string>& env = {},
                        const std::string& cwd = "") {
  TempDir capture;
  std::string out_path = capture.str("out"), err_path = capture.str("err");
  std::vector<std::string> argv_storage = {CREDTRACE_BINARY};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_storage;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry = *e;
    bool replaced = false;
    for (const std::string& override_entry : env) {
      replaced = replaced || entry.substr(0, entry.find('=') + 1) == override_entry.substr(0, override_entry.find('=') + 1);
    }
    if (!replaced) env_storage.push_back(entry);
  }
  env_storage.insert(env_storage.end(), env.begin(), env.end());
  std::vector<char*> envp;
  for (std::string& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  pid_t pid = 0;
  RunResult result;
  if (posix_spawn(&pid, CREDTRACE_BINARY, &actions, nullptr, argv.data(), envp.data()) == 0) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  posix_spawn_file_actions_destroy(&actions);
  result.out = testing::read_file(out_path);
  result.err = testing::read_file(err_path);
  return result;
}

// A home directory with one config of every MCP client shape, each holding fresh random fake credentials.
class ClientTree {
 public:
  ClientTree() : tokens_(20240611) {
    write_claude_desktop();
    write_claude_code();
    write_cursor();
    write_vscode();
    write_windsurf();
    write_cline();
    write_gemini();
    write_zed();
    write_continue();
  }

  std::string home() const { return dir_.str("home/u"); }
  const TempDir& dir() const { return dir_; }
  const std::vector<std::string>& raw_values() const { return raw_; }
  size_t expected_credentials() const { return raw_.size(); }
  std::string write(const std::string& rel, std::string_view content) const { return dir_.write("home/u/" + rel, content); }

 private:
  std::string secret(std::string value) {
    raw_.push_back(value);
    return value;
  }

  void write_claude_desktop() {
    write(".config/Claude/claude_desktop_config.json",
          R"({"mcpServers": {"github": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-github"],
  "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": ")" + secret(tokens_.github_pat()) + R"("}}}})");
  }
  void write_claude_code() {
    write(".claude.json", R"({"numStartups": 3, "projects": {"/home/u/src/api": {"mcpServers": {"assistant": {
  "command": "uvx", "args": ["mcp-assistant"], "env": {"ANTHROPIC_API_KEY": ")" + secret(tokens_.anthropic()) + R"("}}}}}})");
    write("src/api/.mcp.json", R"({"mcpServers": {"slack": {"type": "http", "url": "https://mcp.slack.example/mcp",
  "headers": {"Authorization": "Bearer )" + secret(tokens_.slack_bot()) + R"("}}}})");
  }
  void write_cursor() {
    write(".cursor/mcp.json", R"({"mcpServers": {"openai": {"command": "npx", "args": ["-y", "openai-mcp"],
  "env": {"OPENAI_API_KEY": ")" + secret(tokens_.openai()) + R"(", "OTHER_KEY": "${env:OTHER_KEY}"}}}})");
  }
  void write_vscode() {
    write(".config/Code/User/mcp.json", R"(// user profile
{"inputs": [{"type": "promptString", "id": "tok", "password": true}],
 "servers": {"aws": {"type": "stdio", "command": "uvx", "args": ["aws-mcp"],
   "env": {"AWS_ACCESS_KEY_ID": ")" + secret(tokens_.aws_key_id()) + R"(", "AWS_SECRET_ACCESS_KEY": ")" +
                                          secret(tokens_.aws_secret()) + R"(", "AWS_SESSION_TOKEN": "${input:tok}",},},},})");
  }
  void write_windsurf() {
    write(".codeium/windsurf/mcp_config.json", R"({"mcpServers": {"db": {"serverUrl": "https://svc:)" +
                                                   secret(tokens_.password()) + R"(@db.example/mcp"}}})");
  }
  void write_cline() {
    write(".cline/data/settings/cline_mcp_settings.json", R"({"mcpServers": {"gitlab": {"command": "npx",
  "args": ["-y", "@modelcontextprotocol/server-gitlab"], "env": {"GITLAB_PERSONAL_ACCESS_TOKEN": ")" +
                                                              secret(tokens_.gitlab_pat()) + R"("}, "disabled": false}}})");
  }
  void write_gemini() {
    write(".gemini/settings.json", R"({"mcpServers": {"search": {"httpUrl": "https://search.example/mcp",
  "headers": {"X-API-Key": ")" + secret(tokens_.password()) + R"("}}}})");
  }
  void write_zed() {
    write(".config/zed/settings.json", R"(// Zed
{"context_servers": {"brave": {"command": {"path": "brave-mcp", "args": ["--api-key", ")" +
                                       secret(tokens_.password()) + R"("], "env": {}}},},})");
  }
  void write_continue() {
    write(".continue/config.yaml", "name: Local\nmcpServers:\n  - name: GitHub\n    command: npx\n    env:\n"
                                   "      GITHUB_TOKEN: " + secret(tokens_.github_pat()) + "\n");
  }

  TempDir dir_;
  testing::FakeTokens tokens_;
  std::vector<std::string> raw_;
};

void expect_no_raw_values(const RunResult& run, const std::vector<std::string>& raw) {
  for (const std::string& value : raw) {
    EXPECT_EQ(run.out.find(value), std::string::npos) << "raw value in stdout";
    EXPECT_EQ(run.err.find(value), std::string::npos) << "raw value in stderr";
  }
}

std::string write_key_file(const TempDir& dir) {
  std::string path = dir.write("fleet.key", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n");
  ::chmod(path.c_str(), 0600);
  return path;
}

TEST(ScanCli, JsonReportsEveryClientShape) {
  ClientTree tree;
  RunResult run = run_credtrace({"scan", "--format", "json", tree.home()});
  ASSERT_EQ(run.exit_code, 1) << run.err;
  expect_no_raw_values(run, tree.raw_values());
  Json doc = Json::parse(run.out);
  EXPECT_EQ(doc["tool"]["name"], "credtrace");
  EXPECT_EQ(doc["summary"]["credentials"], tree.expected_credentials());
  EXPECT_EQ(doc["summary"]["references"], 2u);  // OTHER_KEY and AWS_SESSION_TOKEN
  EXPECT_EQ(doc["summary"]["errors"], 0u);
  std::set<std::string> clients;
  for (const Json& f : doc["findings"]) {
    EXPECT_EQ(f["format"], "mcp_config");
    EXPECT_FALSE(f["server"].get<std::string>().empty());
    EXPECT_GE(f["line"].get<int>(), 1);
    if (f["kind"] == "credential") {
      EXPECT_EQ(f["fingerprint"].get<std::string>().size(), 64u);
      EXPECT_FALSE(f["preview"].get<std::string>().empty());
    }
    clients.insert(f["client"].get<std::string>());
  }
  EXPECT_EQ(clients, (std::set<std::string>{"claude_desktop", "claude_code", "cursor", "vscode", "windsurf", "cline",
                                            "gemini_cli", "zed", "continue"}));
  EXPECT_EQ(doc["fingerprint_key"]["source"], "random");
  EXPECT_EQ(doc["fingerprint_key"]["fleet_comparable"], false);
}

TEST(ScanCli, JsonFieldPathsAndLines) {
  ClientTree tree;
  Json doc = Json::parse(run_credtrace({"scan", "--format", "json", tree.home()}).out);
  bool found = false;
  for (const Json& f : doc["findings"]) {
    if (f["key"] != "mcpServers.github.env.GITHUB_PERSONAL_ACCESS_TOKEN") continue;
    found = true;
    EXPECT_EQ(f["type"], "github_pat");
    EXPECT_EQ(f["server"], "github");
    EXPECT_EQ(f["client"], "claude_desktop");
    EXPECT_EQ(f["line"], 2);
  }
  EXPECT_TRUE(found);
}

TEST(ScanCli, SarifRequiredFields) {
  ClientTree tree;
  tree.write("src/api/.env", std::string("BROKEN=\0binary", 14));
  fs::create_symlink(tree.home() + "/src/api/.env.loop", tree.home() + "/src/api/.env.loop2");
  fs::create_symlink(tree.home() + "/src/api/.env.loop2", tree.home() + "/src/api/.env.loop");
  RunResult run = run_credtrace({"scan", "--format", "sarif", tree.home()});
  ASSERT_EQ(run.exit_code, 1) << run.err;
  expect_no_raw_values(run, tree.raw_values());
  Json doc = Json::parse(run.out);
  EXPECT_EQ(doc["$schema"], "https://json.schemastore.org/sarif-2.1.0.json");
  EXPECT_EQ(doc["version"], "2.1.0");
  ASSERT_EQ(doc["runs"].size(), 1u);
  const Json& sarif_run = doc["runs"][0];
  const Json& driver = sarif_run["tool"]["driver"];
  EXPECT_EQ(driver["name"], "credtrace");
  EXPECT_FALSE(driver["version"].get<std::string>().empty());
  std::vector<std::string> rule_ids;
  for (const Json& rule : driver["rules"]) rule_ids.push_back(rule["id"]);
  ASSERT_FALSE(rule_ids.empty());
  ASSERT_EQ(sarif_run["results"].size(), tree.expected_credentials());
  for (const Json& result : sarif_run["results"]) {
    std::string rule = result["ruleId"];
    EXPECT_EQ(rule_ids.at(result["ruleIndex"].get<size_t>()), rule);
    EXPECT_EQ(result["level"], "error");
    EXPECT_FALSE(result["message"]["text"].get<std::string>().empty());
    const Json& location = result["locations"][0]["physicalLocation"];
    EXPECT_EQ(location["artifactLocation"]["uri"].get<std::string>().rfind("file:///", 0), 0u);
    EXPECT_GE(location["region"]["startLine"].get<int>(), 1);
  }
  const Json& notifications = sarif_run["invocations"][0]["toolExecutionNotifications"];
  ASSERT_EQ(notifications.size(), 3u);  // the binary .env and both looping links
  std::set<std::string> kinds;
  for (const Json& n : notifications) {
    EXPECT_FALSE(n["message"]["text"].get<std::string>().empty());
    EXPECT_FALSE(n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].get<std::string>().empty());
    kinds.insert(n["descriptor"]["id"]);
  }
  EXPECT_EQ(kinds, (std::set<std::string>{"binary_content", "symlink_loop"}));
}

TEST(ScanCli, RelativePathsStayRelativeInSarif) {
  ClientTree tree;
  RunResult run = run_credtrace({"scan", "--format", "sarif", "."}, {}, tree.home());
  ASSERT_EQ(run.exit_code, 1) << run.err;
  Json doc = Json::parse(run.out);
  for (const Json& result : doc["runs"][0]["results"]) {
    std::string uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"];
    EXPECT_NE(uri.front(), '/');
    EXPECT_EQ(uri.find("file:"), std::string::npos);
  }
}

TEST(ScanCli, ExitCodes) {
  TempDir clean;
  clean.write("p/.cursor/mcp.json", R"({"mcpServers": {"a": {"command": "x", "env": {"API_KEY": "${env:API_KEY}"}}}})");
  clean.write("p/README.md", "nothing here");
  RunResult ok = run_credtrace({"scan", clean.str("p")});
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("1 files scanned, 0 credentials, 1 references, 0 errors"), std::string::npos) << ok.out;

  ClientTree tree;
  EXPECT_EQ(run_credtrace({"scan", tree.home()}).exit_code, 1);
  RunResult missing = run_credtrace({"scan", tree.home(), clean.str("does/not/exist")});
  EXPECT_EQ(missing.exit_code, 2);
  expect_no_raw_values(missing, tree.raw_values());
  EXPECT_EQ(run_credtrace({"scan", "--no-such-flag"}).exit_code, 2);
  EXPECT_EQ(run_credtrace({"scan", "--format", "xml", clean.str("p")}).exit_code, 2);
  EXPECT_EQ(run_credtrace({"scan", "--fingerprint-key-file", clean.str("absent.key"), clean.str("p")}).exit_code, 2);
  EXPECT_EQ(run_credtrace({}).exit_code, 2);
  EXPECT_EQ(run_credtrace({"scan", "--help"}).exit_code, 0);
  EXPECT_EQ(run_credtrace({"--version"}).exit_code, 0);
}

TEST(ScanCli, TextOutputAndFleetKey) {
  ClientTree tree;
  std::string key_file = write_key_file(tree.dir());
  RunResult first = run_credtrace({"scan", "--fingerprint-key-file", key_file, tree.home()});
  ASSERT_EQ(first.exit_code, 1) << first.err;
  expect_no_raw_values(first, tree.raw_values());
  EXPECT_NE(first.out.find("fleet-wide comparable"), std::string::npos);
  EXPECT_NE(first.out.find(".cursor/mcp.json:2: credential openai sk-proj-"), std::string::npos) << first.out;
  RunResult by_env = run_credtrace({"scan", tree.home()}, {"CREDTRACE_FINGERPRINT_KEY_FILE=" + key_file});
  EXPECT_NE(by_env.out.find("$CREDTRACE_FINGERPRINT_KEY_FILE"), std::string::npos);
  auto strip_header = [](const std::string& out) { return out.substr(out.find('\n')); };
  EXPECT_EQ(strip_header(first.out), strip_header(by_env.out));  // the same key: the same fingerprints
  RunResult random1 = run_credtrace({"scan", tree.home()}, {"CREDTRACE_FINGERPRINT_KEY_FILE="});
  RunResult random2 = run_credtrace({"scan", tree.home()}, {"CREDTRACE_FINGERPRINT_KEY_FILE="});
  EXPECT_NE(random1.out.find("random, for this run only"), std::string::npos);
  EXPECT_NE(strip_header(random1.out), strip_header(random2.out));
}

// Problems go through the shared logger: "credtrace scan: error: …" lines, JSON lines with --log-format or
// $CREDTRACE_LOG_FORMAT (the flag also after the subcommand), nothing below --log-level.
TEST(ScanCli, DiagnosticsThroughTheLogger) {
  TempDir dir;
  const std::string absent = dir.str("absent.key");
  RunResult text = run_credtrace({"scan", "--fingerprint-key-file", absent, dir.str("p")});
  EXPECT_EQ(text.exit_code, 2);
  EXPECT_EQ(text.err.rfind("credtrace scan: error: ", 0), 0u) << text.err;
  EXPECT_NE(text.err.find(absent), std::string::npos) << text.err;
  EXPECT_EQ(std::count(text.err.begin(), text.err.end(), '\n'), 1) << text.err;

  RunResult by_flag = run_credtrace({"scan", "--log-format", "json", "--fingerprint-key-file", absent, dir.str("p")});
  RunResult by_env = run_credtrace({"scan", "--fingerprint-key-file", absent, dir.str("p")}, {"CREDTRACE_LOG_FORMAT=json"});
  for (const RunResult& run : {by_flag, by_env}) {
    EXPECT_EQ(run.exit_code, 2);
    Json line = Json::parse(run.err);
    EXPECT_EQ(line["level"], "error");
    EXPECT_EQ(line["component"], "credtrace scan");
    EXPECT_NE(line["msg"].get<std::string>().find(absent), std::string::npos) << run.err;
  }

  RunResult quiet = run_credtrace({"--log-level", "error", "scan", "--fingerprint-key-file", absent, dir.str("p")});
  EXPECT_EQ(quiet.exit_code, 2);
  EXPECT_FALSE(quiet.err.empty());  // errors pass an error threshold
  EXPECT_EQ(run_credtrace({"--log-level", "loud", "scan", dir.str("p")}).exit_code, 2);
}

TEST(ScanCli, DefaultScanIsTheUsersHome) {
  ClientTree tree;
  tree.write(".aws/credentials", "[default]\naws_access_key_id = AKIAFAKEFAKEFAKE2345\n");
  tree.write(".ssh/id_ed25519.pub", "ssh-ed25519 AAAAFAKE user@host\n");
  RunResult run = run_credtrace({"scan", "--format", "json"}, {"HOME=" + tree.home()});
  ASSERT_EQ(run.exit_code, 1) << run.err;
  Json doc = Json::parse(run.out);
  std::set<std::string> paths;
  for (const Json& f : doc["files"]) paths.insert(f["path"]);
  EXPECT_TRUE(paths.count(tree.home() + "/.aws/credentials"));
  EXPECT_TRUE(paths.count(tree.home() + "/.cursor/mcp.json"));
  EXPECT_TRUE(paths.count(tree.home() + "/.continue/config.yaml"));
  EXPECT_FALSE(paths.count(tree.home() + "/src/api/.mcp.json"));  // projects are not walked by default
  EXPECT_FALSE(paths.count(tree.home() + "/.ssh/id_ed25519.pub"));
}

TEST(ScanCli, SkippedDirectoriesAndFileCap) {
  TempDir dir;
  dir.write("repo/.git/.env", "GIT_TOKEN=FAKEgitToken123\n");
  dir.write("repo/node_modules/pkg/.env", "NPM_TOKEN=FAKEnpmToken123\n");
  dir.write("repo/vendor/.env", "VENDOR_TOKEN=FAKEvendorToken1\n");
  dir.write("repo/big/.env", std::string(4096, '#'));
  RunResult run = run_credtrace({"scan", "--format", "json", "--skip-dir", "vendor", "--max-file-size", "1024",
                                 dir.str("repo")});
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  Json doc = Json::parse(run.out);
  EXPECT_EQ(doc["summary"]["files_scanned"], 1u);
  ASSERT_EQ(doc["errors"].size(), 1u);
  EXPECT_EQ(doc["errors"][0]["error"], "too_large");
  RunResult all = run_credtrace({"scan", "--format", "json", "--no-default-skip", dir.str("repo")});
  EXPECT_EQ(all.exit_code, 1);
  EXPECT_EQ(Json::parse(all.out)["summary"]["credentials"], 3u);
  for (const char* raw : {"FAKEgitToken123", "FAKEnpmToken123", "FAKEvendorToken1"}) {
    EXPECT_EQ(all.out.find(raw), std::string::npos);
  }
}

TEST(ScanCli, NamedFileThatMatchesNoPatternIsScannedByExtension) {
  TempDir dir;
  std::string pat = testing::FakeTokens(3).github_pat();
  std::string path = dir.write("notes/config.yaml", "deploy:\n  token: " + pat + "\n");
  RunResult run = run_credtrace({"scan", "--format", "json", path});
  ASSERT_EQ(run.exit_code, 1) << run.err;
  Json doc = Json::parse(run.out);
  ASSERT_EQ(doc["findings"].size(), 1u);
  EXPECT_EQ(doc["findings"][0]["key"], "deploy.token");
  EXPECT_EQ(doc["findings"][0]["format"], "yaml");
  EXPECT_EQ(run.out.find(pat), std::string::npos);
}

}  // namespace
}  // namespace credtrace::credfiles
