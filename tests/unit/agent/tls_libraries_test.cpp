// TLS uprobe attachment with a recording attacher and a fake /proc (no BPF): per-process links once per (pid, file),
// plans once per (device, inode), release at exit, the preload predicate, the link cap, global mode, library maps.
#include "sensors/tls/tls_libraries.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>

namespace credtrace::sensors {
namespace {

namespace fs = std::filesystem;

constexpr const char* kLibssl = "/usr/lib/x86_64-linux-gnu/libssl.so.3";

struct Attach {
  kernel::TlsProbe probe;
  std::string path;
  uint64_t offset;
  int pid;
};

// Records every attachment; its links count themselves alive.
struct RecordingAttacher final : kernel::UprobeAttacher {
  struct Link final : kernel::UprobeLink {
    explicit Link(size_t* alive) : alive_(alive) { ++*alive_; }
    ~Link() override { --*alive_; }
    size_t* alive_;
  };
  std::unique_ptr<kernel::UprobeLink> attach_uprobe(kernel::TlsProbe probe, const std::string& path, uint64_t offset,
                                                    int pid, std::string* error) override {
    if (fail) {
      *error = "refused";
      return nullptr;
    }
    attaches.push_back({probe, path, offset, pid});
    return std::make_unique<Link>(&alive);
  }
  size_t uprobes_attached() const override { return alive; }
  std::vector<Attach> attaches;
  size_t alive = 0;
  bool fail = false;
};

// A fake /proc: PID/root → /, PID/exe → exe, PID/maps listing the given executable mappings.
class FakeProc {
 public:
  FakeProc() : root_(fs::temp_directory_path() / ("ct-tls-libraries-" + std::to_string(getpid()))) {
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  ~FakeProc() { fs::remove_all(root_); }
  void add(uint32_t pid, const std::string& exe, const std::vector<std::string>& maps_lines) {
    const fs::path dir = root_ / std::to_string(pid);
    fs::create_directories(dir);
    fs::create_directory_symlink("/", dir / "root");
    fs::create_symlink(exe, dir / "exe");
    std::ofstream maps(dir / "maps");
    for (const auto& line : maps_lines) maps << line << "\n";
  }
  std::string root() const { return root_.string(); }

 private:
  fs::path root_;
};

bool have_libssl() { return ::access(kLibssl, R_OK) == 0 && !plan_tls_probes(kLibssl).empty(); }

std::string maps_line(const std::string& path, const char* perms = "r-xp") {
  struct stat st{};
  ::stat(path.c_str(), &st);
  char line[512];
  std::snprintf(line, sizeof line, "7f0000000000-7f0000100000 %s 00000000 %02x:%02x %llu %s", perms,
                major(st.st_dev), minor(st.st_dev), static_cast<unsigned long long>(st.st_ino), path.c_str());
  return line;
}

TlsLibrariesOptions per_process(const FakeProc& proc, size_t cap = 16384) {
  TlsLibrariesOptions options;
  options.mode = UprobeMode::per_process;
  options.max_process_links = cap;
  options.proc_root = proc.root();
  return options;
}

TEST(TlsLibraries, PlansTheSystemLibssl) {
  if (!have_libssl()) GTEST_SKIP() << "no readable " << kLibssl;
  auto plan = plan_tls_probes(kLibssl);
  std::set<kernel::TlsProbe> probes;
  for (const auto& p : plan) probes.insert(p.probe);
  EXPECT_TRUE(probes.count(kernel::TlsProbe::ssl_write));
  EXPECT_TRUE(probes.count(kernel::TlsProbe::ssl_free));
  EXPECT_TRUE(plan_tls_probes("/bin/true").empty());  // no SSL_write: nothing
  EXPECT_TRUE(may_hold_tls("/opt/x/libssl.so.1.1", "/usr/bin/python3"));
  EXPECT_TRUE(may_hold_tls("/usr/bin/node", "/usr/bin/python3"));
  EXPECT_TRUE(may_hold_tls("/usr/bin/python3", "/usr/bin/python3"));
  EXPECT_FALSE(may_hold_tls("/usr/lib/libcrypto.so.3", "/usr/bin/python3"));
}

TEST(TlsLibraries, PerProcessAttachesEachProcessOnceWithItsPid) {
  if (!have_libssl()) GTEST_SKIP();
  FakeProc proc;
  proc.add(100, "/bin/true", {});  // at exec: libssl not mapped yet, attached at its usual place
  proc.add(200, "/bin/true", {maps_line(kLibssl)});
  RecordingAttacher attacher;
  TlsLibraries libraries(attacher, per_process(proc));
  EXPECT_EQ(libraries.start(), 0u);  // per_process: nothing attached at start, the plan is listed
  EXPECT_FALSE(libraries.attached().empty());
  EXPECT_TRUE(attacher.attaches.empty());
  const uint64_t planned_at_start = libraries.stats().files_planned;  // libssl, node when installed
  const size_t per_file = plan_tls_probes(kLibssl).size();
  EXPECT_EQ(libraries.attach_for_process(100), per_file);
  EXPECT_EQ(libraries.attach_for_process(100), 0u);  // once per (pid, file)
  EXPECT_EQ(libraries.attach_for_process(200), per_file);
  for (const auto& a : attacher.attaches) EXPECT_TRUE(a.pid == 100 || a.pid == 200);
  // Through its root (/lib or /usr/lib: one file).
  EXPECT_EQ(attacher.attaches.front().path.rfind(proc.root() + "/100/root/", 0), 0u) << attacher.attaches.front().path;
  EXPECT_NE(attacher.attaches.front().path.find("/libssl.so.3"), std::string::npos);
  // Parsed once per (device, inode), not per process: libssl again, and /bin/true (each executable is inspected for
  // the coverage report) once.
  EXPECT_EQ(libraries.stats().files_planned, planned_at_start + 1);
  EXPECT_EQ(libraries.processes_with_links(), 2u);
  EXPECT_EQ(libraries.process_links(), 2 * per_file);
  EXPECT_EQ(attacher.alive, 2 * per_file);

  libraries.release_process(100);
  EXPECT_EQ(attacher.alive, per_file);
  EXPECT_EQ(libraries.processes_with_links(), 1u);
  libraries.release_process(100);  // again: nothing
  libraries.release_process(200);
  EXPECT_EQ(attacher.alive, 0u);
  EXPECT_EQ(libraries.process_links(), 0u);
  EXPECT_EQ(libraries.stats().processes_released, 2u);
}

TEST(TlsLibraries, AProcessWhosePreloadCapturesItsTlsGetsNoLibsslLinks) {
  if (!have_libssl()) GTEST_SKIP();
  FakeProc proc;
  proc.add(100, "/bin/true", {maps_line(kLibssl)});
  proc.add(200, "/bin/true", {maps_line(kLibssl)});
  RecordingAttacher attacher;
  std::set<uint32_t> preloaded{100};
  TlsLibraries libraries(attacher, per_process(proc), [&](uint32_t pid) { return preloaded.count(pid) > 0; });
  EXPECT_EQ(libraries.attach_for_process(100), 0u);
  EXPECT_GT(libraries.attach_for_process(200), 0u);
  // 200's preload registers late: its libssl links go.
  EXPECT_EQ(libraries.preload_became_active(200), plan_tls_probes(kLibssl).size());
  EXPECT_EQ(attacher.alive, 0u);
  EXPECT_EQ(libraries.processes_with_links(), 0u);
  EXPECT_EQ(libraries.preload_became_active(300), 0u);  // unknown pid
}

TEST(TlsLibraries, LinksBeyondTheCapAreRefusedAndCounted) {
  if (!have_libssl()) GTEST_SKIP();
  FakeProc proc;
  const size_t per_file = plan_tls_probes(kLibssl).size();
  for (uint32_t pid : {1u, 2u, 3u}) proc.add(pid, "/bin/true", {});
  RecordingAttacher attacher;
  TlsLibraries libraries(attacher, per_process(proc, 2 * per_file));
  EXPECT_EQ(libraries.attach_for_process(1), per_file);
  EXPECT_EQ(libraries.attach_for_process(2), per_file);
  EXPECT_EQ(libraries.attach_for_process(3), 0u);
  EXPECT_EQ(libraries.stats().links_refused, per_file);
  libraries.release_process(1);  // room again
  EXPECT_EQ(libraries.attach_for_process(3), per_file);
}

TEST(TlsLibraries, FailuresAreCounted) {
  if (!have_libssl()) GTEST_SKIP();
  FakeProc proc;
  proc.add(static_cast<uint32_t>(getpid()), "/bin/true", {});
  RecordingAttacher attacher;
  attacher.fail = true;
  TlsLibraries libraries(attacher, per_process(proc));
  EXPECT_EQ(libraries.attach_for_process(static_cast<uint32_t>(getpid())), 0u);
  EXPECT_EQ(libraries.failures(), plan_tls_probes(kLibssl).size());  // this process exists: every probe tried
}

TEST(TlsLibraries, GlobalModeAttachesEachFileOnceForEveryone) {
  if (!have_libssl()) GTEST_SKIP();
  FakeProc proc;
  proc.add(100, "/bin/true", {maps_line(kLibssl)});
  RecordingAttacher attacher;
  TlsLibrariesOptions options = per_process(proc);
  options.mode = UprobeMode::global;
  TlsLibraries libraries(attacher, options);
  const size_t per_file = plan_tls_probes(kLibssl).size();
  EXPECT_GE(libraries.start(), per_file);
  for (const auto& a : attacher.attaches) EXPECT_EQ(a.pid, -1);
  const size_t before = attacher.attaches.size();
  EXPECT_EQ(libraries.attach_for_process(100), 0u);  // the same file (inode): already attached for everyone
  EXPECT_EQ(attacher.attaches.size(), before);
  EXPECT_EQ(libraries.processes_with_links(), 0u);
  EXPECT_STREQ(uprobe_mode_name(libraries.mode()), "global");
}

TEST(TlsLibraries, ALibraryMappedLaterIsAttachedByDeviceAndInode) {
  if (!have_libssl()) GTEST_SKIP();
  FakeProc proc;
  const fs::path copy = fs::temp_directory_path() / ("ct-libssl-copy-" + std::to_string(getpid())) / "libssl.so.3";
  fs::create_directories(copy.parent_path());
  fs::copy_file(kLibssl, copy, fs::copy_options::overwrite_existing);
  proc.add(100, "/bin/true", {maps_line("/usr/lib/x86_64-linux-gnu/libc.so.6"), maps_line(copy.string())});
  RecordingAttacher attacher;
  TlsLibraries libraries(attacher, per_process(proc));
  struct stat st{};
  ASSERT_EQ(::stat(copy.c_str(), &st), 0);
  const uint64_t kernel_dev = (static_cast<uint64_t>(major(st.st_dev)) << 20) | minor(st.st_dev);
  EXPECT_EQ(libraries.attach_mapped(100, kernel_dev, st.st_ino, 0x7f0000000000), plan_tls_probes(kLibssl).size());
  EXPECT_EQ(attacher.attaches.back().path, proc.root() + "/100/root" + copy.string());
  EXPECT_EQ(attacher.attaches.back().pid, 100);
  EXPECT_EQ(libraries.attach_mapped(100, kernel_dev, st.st_ino, 0x7f0000000000), 0u);  // once per (pid, file)
  EXPECT_EQ(libraries.attach_mapped(100, kernel_dev, st.st_ino + 1, 0x7e0000000000), 0u);  // not mapped: nothing
  EXPECT_EQ(libraries.stats().libraries_mapped, 3u);
  fs::remove_all(copy.parent_path());
}

TEST(TlsInspection, NamesWhatAFileHoldsAndWhyItIsNotProbed) {
  if (!have_libssl()) GTEST_SKIP();
  auto libssl = inspect_tls_file(kLibssl);
  ASSERT_EQ(libssl.found.size(), 1u);
  EXPECT_EQ(libssl.found[0].implementation, "openssl");
  EXPECT_TRUE(libssl.found[0].planned);
  EXPECT_TRUE(inspect_tls_file("/bin/true").found.empty());  // no TLS code at all
  const char* gnutls = "/usr/lib/x86_64-linux-gnu/libgnutls.so.30";
  if (::access(gnutls, R_OK) == 0) {
    auto report = inspect_tls_file(gnutls);
    ASSERT_EQ(report.found.size(), 1u);
    EXPECT_EQ(report.found[0].implementation, "gnutls");
    EXPECT_FALSE(report.found[0].planned);
    EXPECT_EQ(report.found[0].reason, "unsupported: gnutls");
    EXPECT_TRUE(report.probes.empty());
  }
  EXPECT_TRUE(may_hold_tls("/usr/lib/x86_64-linux-gnu/libgnutls.so.30", "/usr/bin/gnutls-cli"));
  EXPECT_TRUE(may_hold_tls("/usr/lib/x86_64-linux-gnu/libnss3.so", "/usr/bin/x"));
  EXPECT_FALSE(may_hold_tls("/usr/lib/x86_64-linux-gnu/libgnutls-openssl.so.27", "/usr/bin/x"));
}

TEST(TlsInspection, CoverageSummaries) {
  EXPECT_EQ(tls_coverage_summary({}), "none_found");
  TlsCoverageEntry probed{"openssl", "/lib/libssl.so.3", "", true, "", {"SSL_write@..."}};
  TlsCoverageEntry unsupported{"rustls", "/usr/bin/x", "", false, "unsupported: rustls", {}};
  EXPECT_EQ(tls_coverage_summary({probed}), "covered");
  EXPECT_EQ(tls_coverage_summary({probed, unsupported}), "partial");
  EXPECT_EQ(tls_coverage_summary({unsupported}), "not_covered");
}

// A process's coverage: only what it maps (a libssl attached ahead of ld.so is not listed until mapped), with the
// probe points attached, or why not (link cap, preload, unsupported library).
TEST(TlsCoverage, ListsMappedFilesWithTheirProbesOrWhyNot) {
  if (!have_libssl()) GTEST_SKIP();
  FakeProc proc;
  const char* gnutls = "/usr/lib/x86_64-linux-gnu/libgnutls.so.30";
  std::vector<std::string> maps{maps_line(kLibssl)};
  const bool have_gnutls = ::access(gnutls, R_OK) == 0;
  if (have_gnutls) maps.push_back(maps_line(gnutls));
  proc.add(100, "/bin/true", maps);
  proc.add(200, "/bin/true", {});  // at exec: nothing mapped yet
  proc.add(300, "/bin/true", {maps_line(kLibssl)});
  RecordingAttacher attacher;
  std::set<uint32_t> preloaded{300};
  TlsLibraries libraries(attacher, per_process(proc), [&](uint32_t pid) { return preloaded.count(pid) > 0; });
  libraries.attach_for_process(100);
  auto entries = libraries.coverage(100);
  ASSERT_EQ(entries.size(), have_gnutls ? 2u : 1u);
  const TlsCoverageEntry* openssl = nullptr;
  for (const auto& e : entries) {
    if (e.implementation == "openssl") openssl = &e;
    if (e.implementation == "gnutls") {
      EXPECT_FALSE(e.probed);
      EXPECT_EQ(e.reason, "unsupported: gnutls");
      EXPECT_EQ(e.file, gnutls);
    }
  }
  ASSERT_NE(openssl, nullptr);
  EXPECT_TRUE(openssl->probed);
  EXPECT_EQ(openssl->file, kLibssl);
  EXPECT_EQ(openssl->probes.size(), plan_tls_probes(kLibssl).size());
  EXPECT_EQ(tls_coverage_summary(entries), have_gnutls ? "partial" : "covered");

  libraries.attach_for_process(200);  // the known libssl locations attached ahead, nothing mapped
  EXPECT_TRUE(libraries.coverage(200).empty());
  EXPECT_GT(attacher.alive, 0u);

  libraries.attach_for_process(300);  // its preload interposes libssl
  auto preload = libraries.coverage(300);
  ASSERT_EQ(preload.size(), 1u);
  EXPECT_TRUE(preload[0].probed);
  EXPECT_EQ(preload[0].reason, "preload");
  EXPECT_TRUE(preload[0].probes.empty());

  EXPECT_TRUE(libraries.examined(100));
  EXPECT_TRUE(libraries.examined(200));  // examined, nothing found: none_found, not unknown
  libraries.release_process(100);
  EXPECT_TRUE(libraries.coverage(100).empty());
  EXPECT_FALSE(libraries.examined(100));
  EXPECT_EQ(libraries.attach_for_process(400), 0u);  // not in /proc (gone before it was read): unknown
  EXPECT_FALSE(libraries.examined(400));
}

TEST(TlsCoverage, AttachmentsRefusedAreNotCoverage) {
  if (!have_libssl()) GTEST_SKIP();
  FakeProc proc;
  const uint32_t alive = static_cast<uint32_t>(getpid());  // a refusal for a live process is the kernel's
  proc.add(alive, "/bin/true", {maps_line(kLibssl)});
  proc.add(100, "/bin/true", {maps_line(kLibssl)});
  proc.add(200, "/bin/true", {maps_line(kLibssl)});
  RecordingAttacher attacher;
  attacher.fail = true;
  TlsLibraries failing(attacher, per_process(proc));
  failing.attach_for_process(alive);
  auto refused = failing.coverage(alive);
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_FALSE(refused[0].probed);
  EXPECT_EQ(refused[0].reason, "not attached: the kernel refused its uprobes");
  if (::kill(100, 0) != 0) {  // no process 100 here: the refusal is its exit
    failing.attach_for_process(100);
    auto gone = failing.coverage(100);
    ASSERT_EQ(gone.size(), 1u);
    EXPECT_EQ(gone[0].reason, "not attached: the process exited first");
  }
  RecordingAttacher capped_attacher;
  TlsLibraries capped(capped_attacher, per_process(proc, 1));
  capped.attach_for_process(200);
  auto limited = capped.coverage(200);
  ASSERT_EQ(limited.size(), 1u);
  EXPECT_FALSE(limited[0].probed);
  EXPECT_EQ(limited[0].reason, "not attached: tls.max_process_links reached");
}

}  // namespace
}  // namespace credtrace::sensors
