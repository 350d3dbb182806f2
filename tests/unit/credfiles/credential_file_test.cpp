// Unit tests of safe reading and scanning one file: caps, binary, non-regular files, permissions, symlink loops,
// confinement to a root (openat2), MCP config caps, and fingerprint export.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "events/credential_facts.h"

#include "credfiles/credential_file.h"
#include "credfiles/parsers.h"
#include "credfiles_test_util.h"

namespace credtrace::credfiles {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

PathMatch dotenv_match() { return {".env*", "dotenv", Format::dotenv}; }

TEST(SafeRead, ReadsARegularFile) {
  TempDir dir;
  std::string path = dir.write(".env", "A_TOKEN=FAKEtokenValue1\n");
  ReadResult r = read_credential_file(path, {});
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.content.view(), "A_TOKEN=FAKEtokenValue1\n");
}

TEST(SafeRead, FileAboveTheCap) {
  TempDir dir;
  std::string path = dir.write(".env", std::string(2 << 20, 'A'));
  ReadResult r = read_credential_file(path, {});
  EXPECT_EQ(r.error, FileError::too_large);
  EXPECT_EQ(r.message, "file larger than 1048576 bytes");
  ReadOptions bigger;
  bigger.max_bytes = 4 << 20;
  EXPECT_TRUE(read_credential_file(path, bigger).ok());
  ReadOptions smaller;
  smaller.max_bytes = 16;
  EXPECT_EQ(read_credential_file(dir.write("small", std::string(17, 'x')), smaller).error, FileError::too_large);
  EXPECT_TRUE(read_credential_file(dir.write("exact", std::string(16, 'x')), smaller).ok());
}

TEST(SafeRead, BinaryContent) {
  TempDir dir;
  std::string path = dir.write(".env", std::string("A_TOKEN=FAKE\0binary", 19));
  ReadResult r = read_credential_file(path, {});
  EXPECT_EQ(r.error, FileError::binary_content);
  EXPECT_EQ(r.content.size(), 0u);
}

TEST(SafeRead, DirectoriesAndFifosAreNeverOpenedForReading) {
  TempDir dir;
  fs::create_directories(dir.path() / ".env.d");
  EXPECT_EQ(read_credential_file(dir.str(".env.d"), {}).error, FileError::not_regular_file);
  std::string fifo = dir.str(".env");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  ReadResult r = read_credential_file(fifo, {});  // would block forever if opened for reading
  EXPECT_EQ(r.error, FileError::not_regular_file);
  EXPECT_EQ(file_error_name(r.error), "not_regular_file");
}

TEST(SafeRead, MissingFileAndSymlinkLoop) {
  TempDir dir;
  EXPECT_EQ(read_credential_file(dir.str("absent/.env"), {}).error, FileError::not_found);
  fs::create_symlink(dir.path() / "b", dir.path() / "a");
  fs::create_symlink(dir.path() / "a", dir.path() / "b");
  ReadResult r = read_credential_file(dir.str("a"), {});
  EXPECT_EQ(r.error, FileError::symlink_loop);
  EXPECT_NE(r.message.find("ELOOP"), std::string::npos);
}

// chmod 000 does not stop root (CAP_DAC_OVERRIDE): as root the read runs in a child that drops to nobody.
TEST(SafeRead, UnreadableFile) {
  TempDir dir;
  ::chmod(dir.str().c_str(), 0755);
  std::string path = dir.write(".env", "A_TOKEN=FAKEtokenValue1\n");
  ASSERT_EQ(::chmod(path.c_str(), 0000), 0);
  if (::geteuid() != 0) {
    EXPECT_EQ(read_credential_file(path, {}).error, FileError::permission_denied);
    return;
  }
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(100);
    ::_exit(static_cast<int>(read_credential_file(path, {}).error));
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_NE(WEXITSTATUS(status), 100) << "could not drop to uid 65534";
  EXPECT_EQ(WEXITSTATUS(status), static_cast<int>(FileError::permission_denied));
}

// A config in a user's home is read for that user: a symlink to a file they may not read (mode bits: owner,
// group, other) is refused, whoever the agent runs as. The owner here is the test's uid; 65534 (nobody) is not.
TEST(SafeRead, ReaderUidRefusesWhatThatUserCannotRead) {
  const uid_t owner = ::geteuid();
  const uid_t other = owner == 65534 ? 65533 : 65534;
  TempDir dir;
  std::string secret = dir.write("private/credentials.json", R"({"mcpServers":{}})");
  ASSERT_EQ(::chmod(secret.c_str(), 0600), 0);
  fs::create_directories(dir.path() / "home/.cursor");
  fs::create_symlink(secret, dir.path() / "home/.cursor/mcp.json");
  const std::string link = dir.str("home/.cursor/mcp.json");

  ReadOptions as_owner;
  as_owner.reader_uid = owner;
  EXPECT_TRUE(read_credential_file(link, as_owner).ok());
  ReadOptions as_other;
  as_other.reader_uid = other;
  ReadResult refused = read_credential_file(link, as_other);
  EXPECT_EQ(refused.error, FileError::permission_denied);
  EXPECT_EQ(refused.message, "not readable by uid " + std::to_string(other) + ", whose file this is: not read");
  EXPECT_EQ(refused.content.size(), 0u);
  ASSERT_EQ(::chmod(secret.c_str(), 0640), 0);  // group-readable: the file's group is not nobody's
  EXPECT_EQ(read_credential_file(link, as_other).error, FileError::permission_denied);
  ASSERT_EQ(::chmod(secret.c_str(), 0604), 0);  // world-readable: anyone could read it anyway
  EXPECT_TRUE(read_credential_file(link, as_other).ok());
  ASSERT_EQ(::chmod(secret.c_str(), 0600), 0);
  ReadOptions as_root;
  as_root.reader_uid = 0;
  EXPECT_TRUE(read_credential_file(link, as_root).ok());
  EXPECT_TRUE(read_credential_file(link, {}).ok());  // no reader: an administrator's path, read as the agent
}

TEST(SafeRead, RootConfinesAbsoluteAndDotDotSymlinks) {
  TempDir dir;
  std::string outside = dir.write("outside/secret.env", "A_TOKEN=FAKEoutsideToken1\n");
  dir.write("root/home/u/inside.env", "A_TOKEN=FAKEinsideToken1\n");
  fs::create_symlink(outside, dir.path() / "root/home/u/.env");                          // absolute
  fs::create_symlink("../../../outside/secret.env", dir.path() / "root/home/u/.env.up");  // climbs out
  fs::create_symlink("/home/u/inside.env", dir.path() / "root/home/u/.env.in");          // absolute, inside
  ReadOptions confined;
  confined.root = dir.str("root");
  EXPECT_EQ(read_credential_file("/home/u/.env", confined).error, FileError::not_found);
  EXPECT_EQ(read_credential_file("/home/u/.env.up", confined).error, FileError::not_found);
  ReadResult inside = read_credential_file("/home/u/.env.in", confined);
  ASSERT_TRUE(inside.ok()) << inside.message;
  EXPECT_EQ(inside.content.view(), "A_TOKEN=FAKEinsideToken1\n");
  EXPECT_TRUE(read_credential_file(dir.str("root/home/u/.env"), {}).ok());  // without a root: followed
  // stat_credential_file resolves the same way: the confined link's metadata is the inside file's
  EXPECT_FALSE(stat_credential_file("/home/u/.env", confined));
  std::optional<struct stat> linked = stat_credential_file("/home/u/.env.in", confined);
  ASSERT_TRUE(linked);
  struct stat direct {};
  ASSERT_EQ(::stat(dir.str("root/home/u/inside.env").c_str(), &direct), 0);
  EXPECT_EQ(linked->st_ino, direct.st_ino);
  EXPECT_EQ(linked->st_size, direct.st_size);
}

TEST(SafeRead, RootRefusesMagicLinks) {
  TempDir dir;
  dir.write("root/etc/placeholder", "x");
  fs::create_symlink("/proc/self/root/etc/hostname", dir.path() / "root/magic");
  ReadOptions confined;
  confined.root = "/proc/self/root";  // a magic link as the root itself is fine (it is opened normally)
  EXPECT_TRUE(read_credential_file(dir.str("root/etc/placeholder"), confined).ok());
  confined.root = dir.str("root");
  EXPECT_FALSE(read_credential_file("/magic", confined).ok());
}

TEST(ScanCredentialFile, ParsesAndReportsParseErrors) {
  TempDir dir;
  std::string path = dir.write(".env", "A_TOKEN=FAKEtokenValue1\nnot an assignment\n");
  FileScan scan = scan_credential_file(path, dotenv_match(), {});
  EXPECT_EQ(scan.kind, "dotenv");
  ASSERT_EQ(scan.findings.size(), 1u);
  EXPECT_EQ(scan.error, FileError::parse_error);
  EXPECT_EQ(scan.error_message, "line 2: not KEY=VALUE");
}

TEST(ScanCredentialFile, ReadErrorsHaveNoFindings) {
  TempDir dir;
  std::string path = dir.write(".env", std::string("X\0Y", 3));
  FileScan scan = scan_credential_file(path, dotenv_match(), {});
  EXPECT_EQ(scan.error, FileError::binary_content);
  EXPECT_TRUE(scan.findings.empty());
}

PathMatch pem_match() { return {"*.pem", "pem", Format::pem}; }

// A CA bundle shaped like certifi's cacert.pem: "# Issuer/Subject/Label/Fingerprint" comments before each block.
std::string ca_bundle(int certificates) {
  const std::string certificate = testing::read_fixture("pem/cert.pem");
  std::string bundle;
  for (int i = 0; i < certificates; ++i) {
    bundle += "\n# Issuer: CN=Example Root CA " + std::to_string(i) + " O=Example Trust\n# Label: \"Example Root " +
              std::to_string(i) + "\"\n# SHA256 Fingerprint: 17:93:92:7a:06:14:54:97:89:ad:ce:2f:8f:34:f7:f0\n" +
              certificate;
  }
  return bundle;
}

TEST(WorthReporting, CaBundleHoldsNothingSecret) {
  TempDir dir;
  FileScan scan = scan_credential_file(dir.write("site-packages/certifi/cacert.pem", ca_bundle(120)), pem_match(), {});
  EXPECT_EQ(scan.error, FileError::none) << scan.error_message;
  EXPECT_TRUE(scan.findings.empty());
  EXPECT_FALSE(worth_reporting(scan));
}

TEST(WorthReporting, TheHostsCaBundlesHoldNothingSecret) {
  int scanned = 0;
  for (const char* path : {"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt",
                           "/usr/lib/ssl/cert.pem", "/etc/ssl/cert.pem"}) {
    if (::access(path, R_OK) != 0) continue;
    FileScan scan = scan_credential_file(path, pem_match(), {});
    EXPECT_FALSE(worth_reporting(scan)) << path << ": " << scan.error_message;
    ++scanned;
  }
  if (scanned == 0) GTEST_SKIP() << "no system CA bundle on this host";
}

TEST(WorthReporting, APrivateKeyAnErrorOrAParseErrorIs) {
  TempDir dir;
  FileScan with_key = scan_credential_file(
      dir.write("server.pem", ca_bundle(2) + testing::read_fixture("pem/bundle.pem")), pem_match(), {});
  EXPECT_TRUE(worth_reporting(with_key));
  ReadOptions small;
  small.max_bytes = 1024;
  FileScan too_large = scan_credential_file(dir.write("cacert.pem", ca_bundle(40)), pem_match(), small);
  EXPECT_EQ(too_large.error, FileError::too_large);
  EXPECT_TRUE(worth_reporting(too_large));  // unread: it may hold anything
  FileScan unterminated = scan_credential_file(
      dir.write("chain.pem", ca_bundle(1) + "-----BEGIN CERTIFICATE-----\nRkFLRQ==\n"), pem_match(), {});
  EXPECT_EQ(unterminated.error, FileError::parse_error);
  EXPECT_TRUE(worth_reporting(unterminated));
}

TEST(WorthReporting, SettingsAndReferencesAreNotCredentials) {
  TempDir dir;
  FileScan settings = scan_credential_file(dir.write(".env.local", "LOG_LEVEL=debug\nAPI_TOKEN=${API_TOKEN}\n"),
                                           dotenv_match(), {});
  EXPECT_EQ(settings.error, FileError::none);
  EXPECT_FALSE(worth_reporting(settings));
  FileScan token = scan_credential_file(dir.write(".env", "A_TOKEN=FAKEtokenValue1\n"), dotenv_match(), {});
  EXPECT_TRUE(worth_reporting(token));
}

TEST(ScanCredentialFile, McpConfigsGetALargerCap) {
  TempDir dir;
  std::string padding(2 << 20, 'a');
  std::string path = dir.write("home/.claude.json",
                               "{\"history\": \"" + padding + "\", \"mcpServers\": {\"g\": {\"command\": \"x\", "
                               "\"env\": {\"GITHUB_TOKEN\": \"" + testing::fake("GH_PAT") + "\"}}}}");
  FileScan scan = scan_mcp_config_file(path, {});
  EXPECT_EQ(scan.error, FileError::none) << scan.error_message;
  EXPECT_EQ(scan.client, mcp::Client::claude_code);
  ASSERT_EQ(scan.findings.size(), 1u);
  EXPECT_EQ(scan.findings[0].server, "g");
}

TEST(ScanCredentialFile, Utf8BomIsSkipped) {
  ParseResult r = parse_credential_text(Format::json, "x.json", "\xEF\xBB\xBF{\"password\": \"FAKEpassw0rd1\"}");
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.findings.size(), 1u);
}

// What leaves for a finding is made by the one credential description the agent uses too.
TEST(ExportCredential, FingerprintAndPreviewOnly) {
  std::string error;
  auto fingerprinter = secrets::Fingerprinter::from_key("0123456789abcdef0123456789abcdef", &error);
  ASSERT_TRUE(fingerprinter) << error;
  ParseResult r = parse_dotenv("GITHUB_TOKEN=" + testing::fake("GH_PAT") + "\n");
  ASSERT_EQ(r.findings.size(), 1u);
  const Finding& f = r.findings[0];
  credtrace::v1::Credential exported = events::describe_credential(*fingerprinter, f.value.view(), f.type, f.prefix_len);
  EXPECT_EQ(exported.type(), "github_pat");
  EXPECT_EQ(exported.fingerprint(), fingerprinter->fingerprint(testing::fake("GH_PAT")));
  EXPECT_EQ(exported.fingerprint().size(), 64u);
  EXPECT_EQ(exported.preview(), "ghp_\xE2\x80\xA6" "ABCD");
  EXPECT_FALSE(exported.has_jwt());
}

// Every fixture through every parser: raw fake values never appear in keys, types, references or errors.
TEST(NoRawSecrets, NothingPrintableHoldsARawValue) {
  const char* files[] = {"aws/credentials", "aws/config", "aws/malformed", "gh/hosts.yml", "docker/config.json",
                         "kube/config", "netrc/.netrc", "npm/.npmrc", "pypi/.pypirc", "git/.git-credentials",
                         "gcloud/application_default_credentials.json", "gcloud/fake-project-service-account.json",
                         "azure/msal_token_cache.json", "azure/accessTokens.json", "ssh/id_ed25519", "pem/server.key",
                         "pem/bundle.pem", "pem/truncated.pem", "pem/api.key", "dotenv/.env", "dotenv/malformed.env",
                         "k8s/token", "malformed/bad.json", "malformed/bad.yaml"};
  for (const char* file : files) {
    std::string content = testing::read_fixture(file);
    for (Format format : {Format::ini, Format::json, Format::yaml, Format::dotenv, Format::pem, Format::netrc,
                          Format::npmrc, Format::git_credentials, Format::token, Format::text, Format::mcp_config}) {
      std::string printable = testing::printable_parts(parse_credential_text(format, file, content));
      for (const auto& [name, raw] : testing::fake_values()) {
        EXPECT_EQ(printable.find(raw), std::string::npos) << name << " in " << file << " as " << format_name(format);
      }
    }
  }
}

}  // namespace
}  // namespace credtrace::credfiles
