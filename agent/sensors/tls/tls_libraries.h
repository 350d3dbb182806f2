// TLS library attachment: finds OpenSSL in files (system libssl, node, static executables), plans the TLS uprobes
// once per file, and attaches them per watched process (per_process mode) or once per file for everyone (global).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "kernel/kernel_control.h"
#include "sensors/tls/elf_symbols.h"
#include "sensors/tls/probe_point.h"

namespace credtrace::sensors {

enum class UprobeMode {
  per_process,  // each watched process gets its own links (pid filter): no breakpoint anywhere else
  global,       // one link per file for every process that maps it (the programs check the watch)
};
const char* uprobe_mode_name(UprobeMode mode);

// "This process's TLS is captured by its preload": its libssl.so* is interposed in-process, so no uprobe goes there
// (static OpenSSL in its executable or node still gets them). Empty: never.
using PreloadCaptures = std::function<bool(uint32_t pid)>;

struct TlsLibrariesOptions {
  UprobeMode mode = UprobeMode::per_process;
  size_t max_process_links = 8000;  // per_process: links over all processes; beyond, attachments are refused
  std::string proc_root = "/proc";
};

// What attachment did, for agent_health.
struct TlsAttachStats {
  uint64_t failures = 0;              // uprobes the kernel refused
  uint64_t links_refused = 0;         // per_process: not attached, max_process_links reached
  uint64_t processes_attached = 0;    // per_process: processes that got links (ever)
  uint64_t processes_released = 0;    // per_process: processes whose links were closed (exit, preload)
  uint64_t libraries_mapped = 0;      // lib_map records handled (a library mapped after exec)
  uint64_t files_planned = 0;         // files parsed for probe points (once per device and inode)
  uint64_t latency_samples = 0;       // exec (or library map) → links created
  uint64_t latency_us_total = 0;
  uint64_t latency_us_max = 0;
};

// The probe points of one file for the TLS programs, labelled: OpenSSL's by ELF symbols and x86 decoding, or, in a
// Go executable without them, crypto/tls's through the Go function table. Empty when the file has neither. Exposed
// for tests.
struct TlsProbePlan {
  kernel::TlsProbe probe;
  uint64_t file_offset;
  std::string label;
};
std::vector<TlsProbePlan> plan_tls_probes(const std::string& path);

// One TLS implementation found in a file, and whether probe points were found for it (else why not).
struct TlsFinding {
  std::string implementation;  // openssl, boringssl, go crypto/tls, rustls, gnutls, nss, wolfssl, mbedtls
  std::string version;         // the Go toolchain, when the file says
  bool planned = false;
  std::string reason;  // !planned: "unsupported: rustls", "signature mismatch: ...", "Go function table: ..."
};

// What a file holds: its probe points and the TLS implementations found (none: no TLS code recognised).
struct TlsFileReport {
  std::vector<TlsProbePlan> probes;
  std::vector<TlsFinding> found;
};
TlsFileReport inspect_tls_file(const std::string& path);

// Whether a mapped file may hold TLS code worth inspecting: libssl.so*, the process's executable, node, and the
// TLS libraries the agent recognises without probing (GnuTLS, NSS, wolfSSL, mbedTLS).
bool may_hold_tls(const std::string& mapped_path, const std::string& exe);

// The TLS coverage of one process: each implementation found in the files it maps, with the probe points attached
// for it, or why there are none. `probed` is true for uprobes attached, and for a libssl the preload interposes.
struct TlsCoverageEntry {
  std::string implementation, file, version;
  bool probed = false;
  std::string reason;
  std::vector<std::string> probes;
};

// covered (every implementation probed), partial, not_covered (none probed), none_found (no implementation). A
// process whose files could not be examined is "unknown" (see TlsLibraries::examined).
std::string tls_coverage_summary(const std::vector<TlsCoverageEntry>& entries);

class TlsLibraries {
 public:
  explicit TlsLibraries(kernel::UprobeAttacher& probes, TlsLibrariesOptions options = {},
                        PreloadCaptures preload_captures = {});

  // global: the usual system libssl locations and node binaries, attached for everyone. per_process: nothing
  // attached; their probe points are planned (and listed by attached()).
  size_t start();
  // A watched process (exec'd, joining a workload): in per_process mode, its executable mappings that may hold
  // OpenSSL plus the usual libssl locations under its root (ld.so has not mapped them yet at exec), with its pid;
  // in global mode, its mapped files for everyone. since_ns: the boot-clock time of its exec (latency), or 0.
  size_t attach_for_process(uint32_t pid, uint64_t since_ns = 0);
  // The kernel stops a watched process when it maps a libssl until attach_mapped ran (tls.hold_exec_until_attached):
  // the usual libssl locations are then not attached at exec (a program that never maps libssl gets no links).
  void set_libssl_maps_held(bool held) { libssl_maps_held_ = held; }
  // A watched process mapped a library after exec (a lib_map record: device, inode, start address).
  size_t attach_mapped(uint32_t pid, uint64_t dev, uint64_t inode, uint64_t start, uint64_t since_ns = 0);
  // The process exited: its links are closed.
  void release_process(uint32_t pid);
  // The preload of pid turned out to capture its TLS after it was attached: its libssl.so* links are closed (the
  // executable's and node's stay). Returns links closed.
  size_t preload_became_active(uint32_t pid);
  // What pid's mapped files hold and whether each implementation is probed (files attached ahead of a map, not
  // mapped yet, are left out). Empty when nothing was found, or the process is not known.
  std::vector<TlsCoverageEntry> coverage(uint32_t pid) const;
  // Whether pid's files were read at all (its executable found through /proc): a process gone before that has no
  // coverage to report, which is unknown, not "none found".
  bool examined(uint32_t pid) const { return examined_.count(pid) > 0; }

  UprobeMode mode() const { return options_.mode; }
  bool libssl_maps_held() const { return libssl_maps_held_; }
  // Labels of the probes (global: attached; per_process: planned at start).
  const std::vector<std::string>& attached() const { return attached_; }
  uint64_t failures() const { return stats_.failures; }
  const TlsAttachStats& stats() const { return stats_; }
  size_t processes_with_links() const { return by_process_.size(); }
  size_t process_links() const { return process_links_; }

 private:
  using FileKey = std::pair<dev_t, ino_t>;
  // Where a file's TLS uprobes go (empty: neither OpenSSL nor Go crypto/tls). Computed once per (dev, inode).
  struct FilePlan {
    std::vector<TlsProbePlan> probes;
    std::vector<TlsFinding> found;
    bool libssl = false;  // a libssl.so* file (interposed by the preload)
  };
  // The links one process holds, per file.
  struct ProcessLinks {
    std::map<FileKey, std::vector<std::unique_ptr<kernel::UprobeLink>>> files;
    std::set<FileKey> libssl;
  };
  // What one process's files hold, for its coverage report.
  struct FileCoverage {
    std::string file;  // as the process sees it
    std::shared_ptr<const FilePlan> plan;
    bool mapped = false;      // in the process's maps (not only attached ahead of ld.so)
    size_t links = 0;         // uprobes attached for this process (global mode: for everyone)
    bool preload = false;     // a libssl the preload interposes: no uprobes needed
    bool limit_hit = false;   // per_process: refused, max_process_links reached
    bool exited = false;      // the process was gone before its uprobes were attached
  };
  // A candidate file of a process: the path through its root, and the path it maps.
  struct CandidateFile {
    std::string through, file;
    bool mapped = false;
  };

  std::shared_ptr<const FilePlan> plan_for(const std::string& path, const FileKey& key);
  size_t attach_file_global(const std::string& path);
  size_t attach_file_for(uint32_t pid, const CandidateFile& candidate, bool libssl_name);
  size_t attach_global_for(uint32_t pid, const CandidateFile& candidate);
  std::vector<CandidateFile> candidate_files(uint32_t pid, bool with_known_locations);
  FileCoverage& coverage_of(uint32_t pid, const FileKey& key, const CandidateFile& candidate,
                            std::shared_ptr<const FilePlan> plan);
  void note_latency(uint64_t since_ns);

  kernel::UprobeAttacher& probes_;
  TlsLibrariesOptions options_;
  PreloadCaptures preload_captures_;
  std::map<FileKey, std::shared_ptr<const FilePlan>> plans_;
  std::set<FileKey> global_files_;
  std::vector<std::unique_ptr<kernel::UprobeLink>> global_links_;
  std::map<uint32_t, ProcessLinks> by_process_;
  std::map<uint32_t, std::map<FileKey, FileCoverage>> coverage_;
  std::set<uint32_t> examined_;
  std::map<FileKey, size_t> global_links_by_file_;
  bool libssl_maps_held_ = false;
  size_t process_links_ = 0;
  std::vector<std::string> attached_;
  TlsAttachStats stats_;
};

}  // namespace credtrace::sensors
