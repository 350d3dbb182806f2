// TLS library attachment: ELF symbols → emulated probe points (agent/tls) → a plan per (device, inode) → uprobes,
// per process (pid filter) or per file for everyone.
#include "sensors/tls/tls_libraries.h"

#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstdio>
#include <functional>
#include <string_view>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "common/paths.h"
#include "common/timestamp.h"
#include "log.h"
#include "sensors/tls/boringssl_locator.h"
#include "sensors/tls/elf_symbols.h"
#include "sensors/tls/go_binary.h"
#include "sensors/tls/probe_point.h"
#include "sensors/tls/tls_inventory.h"

namespace credtrace::sensors {
namespace {

struct ProbeSpec {
  const char* function;
  kernel::TlsProbe probe;
  int args_needed;
};

constexpr ProbeSpec kProbes[] = {
    {"SSL_write", kernel::TlsProbe::ssl_write, 3},
    {"SSL_write_ex", kernel::TlsProbe::ssl_write_ex, 3},
    {"SSL_ctrl", kernel::TlsProbe::ssl_ctrl, 4},
    {"SSL_free", kernel::TlsProbe::ssl_free, 1},
};

// The usual places of the system libssl: attached per process at exec, before ld.so maps them.
constexpr const char* kKnownLibssl[] = {"/usr/lib/x86_64-linux-gnu/libssl.so.3", "/lib/x86_64-linux-gnu/libssl.so.3",
                                        "/usr/lib64/libssl.so.3", "/usr/lib/libssl.so.3"};
constexpr const char* kKnownNode[] = {"/usr/bin/node", "/usr/local/bin/node"};
constexpr size_t kMaxPlans = 4096;

std::string hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

bool is_libssl(const std::string& path) { return common::file_name(path).rfind("libssl.so", 0) == 0; }

// The OpenSSL functions found in one file, and where to probe them.
struct LibraryFunctions {
  std::string path;
  std::map<std::string, tls::ElfFunction> by_name;
  std::optional<tls::ProbePoint> entry_point(const std::string& name, int args_needed) const;
  std::optional<tls::ProbePoint> function_entry(const std::string& name) const;
  // The emulated entry of the function `caller` calls at `call` (which must be a before_first_call point).
  std::optional<tls::ProbePoint> callee_entry(const std::string& caller, const tls::ProbePoint& call) const;
};

std::optional<tls::ProbePoint> LibraryFunctions::entry_point(const std::string& name,
                                                                           int args_needed) const {
  auto it = by_name.find(name);
  if (it == by_name.end()) return std::nullopt;
  auto code = tls::read_function_bytes(path, it->second, 128);
  if (!code) return std::nullopt;
  return tls::choose_entry_probe(it->second, *code, args_needed);
}

std::optional<tls::ProbePoint> LibraryFunctions::function_entry(const std::string& name) const {
  auto it = by_name.find(name);
  if (it == by_name.end()) return std::nullopt;
  auto code = tls::read_function_bytes(path, it->second, 16);
  if (!code) return std::nullopt;
  // args_needed 7 forbids the call phase: the first emulated state-preserving instruction, else the entry itself.
  return tls::choose_entry_probe(it->second, *code, 7);
}

std::optional<tls::ProbePoint> LibraryFunctions::callee_entry(const std::string& caller,
                                                                            const tls::ProbePoint& call) const {
  auto it = by_name.find(caller);
  if (it == by_name.end()) return std::nullopt;
  auto code = tls::read_function_bytes(path, it->second, 128);
  if (!code) return std::nullopt;
  auto callee = tls::called_function(it->second, *code, call, caller + " callee");
  if (!callee) return std::nullopt;
  auto callee_code = tls::read_function_bytes(path, *callee, 64);
  if (!callee_code) return std::nullopt;
  tls::ProbePoint point = tls::choose_entry_probe(*callee, *callee_code, 4);
  if (!point.emulated || point.args != tls::ArgsAt::entry) return std::nullopt;
  return point;
}


// Collects a file's planned probes, labelled "SSL_write@…", "SSL_new return@…", and where the place differs from
// the probe's own function, "SSL_read_ex in ssl_read_internal@…".
class Planner {
 public:
  explicit Planner(const LibraryFunctions& library) : library_(library) {}
  void add(kernel::TlsProbe probe, const std::string& function, const tls::ProbePoint& point) {
    const std::string name = kernel::tls_probe_name(probe);
    const std::string label = name.substr(0, name.find(' ')) == function ? name : name + " in " + function;
    plan_.push_back({probe, point.file_offset,
                     label + "@" + library_.path + "+" + hex(point.function_offset) + " (" + point.instruction +
                         (point.emulated ? ", emulated)" : ", single-stepped)")});
  }
  void add_reads();
  std::vector<TlsProbePlan> take() { return std::move(plan_); }

 private:
  const LibraryFunctions& library_;
  std::vector<TlsProbePlan> plan_;
};

// SSL_read and SSL_read_ex need an entry probe (where the plaintext goes) and a return probe (how much arrived),
// both at the same entry so the return address is on top of the stack. Where a read function's own entry is
// single-stepped (libssl 3: `sub $0x18,%rsp`) but both forms first call one internal function with the _ex
// signature (ssl_read_internal) whose entry is emulated, that callee is probed instead: one place for both forms.
void Planner::add_reads() {
  std::optional<tls::ProbePoint> internal;
  if (auto ex = library_.entry_point("SSL_read_ex", 4); ex && ex->args == tls::ArgsAt::before_first_call)
    internal = library_.callee_entry("SSL_read_ex", *ex);
  std::set<uint64_t> done;
  auto add_read = [&](const char* name, kernel::TlsProbe entry_probe, const tls::ProbePoint& point) {
    if (!done.insert(point.file_offset).second) return;
    add(entry_probe, name, point);
    add(kernel::TlsProbe::ssl_read_ret, name, point);
  };
  const std::pair<const char*, kernel::TlsProbe> forms[] = {{"SSL_read_ex", kernel::TlsProbe::ssl_read_ex},
                                                            {"SSL_read", kernel::TlsProbe::ssl_read}};
  for (const auto& [name, probe] : forms) {
    auto point = library_.entry_point(name, probe == kernel::TlsProbe::ssl_read ? 3 : 4);
    if (!point) continue;
    if (point->emulated && point->args == tls::ArgsAt::entry) {
      add_read(name, probe, *point);
      continue;
    }
    std::optional<tls::ProbePoint> callee;
    if (point->args == tls::ArgsAt::before_first_call) callee = library_.callee_entry(name, *point);
    if (callee && internal && callee->file_offset == internal->file_offset) {
      add_read("ssl_read_internal", kernel::TlsProbe::ssl_read_ex, *internal);
    } else if (auto entry = library_.function_entry(name)) {
      add_read(name, probe, *entry);  // single-stepped, but correct
    }
  }
}

constexpr const char* kGoWrite = "crypto/tls.(*Conn).Write";
constexpr const char* kGoRead = "crypto/tls.(*Conn).Read";

std::string go_label(kernel::TlsProbe probe, const std::string& path, const tls::GoTable& table, uint64_t offset,
                     const std::string& instruction, bool emulated) {
  return std::string(kernel::tls_probe_name(probe)) + "@" + path + "+" + hex(offset) + " (" + instruction +
         (emulated ? ", emulated" : ", single-stepped") + "; " + (table.version.empty() ? "Go" : table.version) + ")";
}

// A Go executable's crypto/tls: (*Conn).Write after its stack check, (*Conn).Read there and at each of its RETs.
// Nothing when the file has no crypto/tls; a finding with the reason when a function does not decode.
void inspect_go(const tls::ElfFile& elf, const std::string& path, TlsFileReport& report) {
  std::string why;
  auto table = tls::read_go_table(elf, &why);
  if (!table) {
    const auto bytes = elf.bytes();
    constexpr std::string_view kName = kGoWrite;
    if (std::search(bytes.begin(), bytes.end(), std::boyer_moore_horspool_searcher(kName.begin(), kName.end())) !=
        bytes.end())
      report.found.push_back({"go crypto/tls", tls::go_version(elf), false, "Go function table: " + why});
    return;
  }
  auto write = tls::find_go_function(elf, *table, kGoWrite);
  auto read = tls::find_go_function(elf, *table, kGoRead);
  if (!write || !read) return;  // no crypto/tls in this program
  TlsFinding finding{"go crypto/tls", table->version, false, ""};
  auto write_point = tls::go_entry_probe(elf, *write, &why);
  auto read_point = write_point ? tls::go_entry_probe(elf, *read, &why) : std::nullopt;
  auto returns = read_point ? tls::go_function_returns(elf, *read, &why) : std::nullopt;
  if (returns && returns->empty()) why = std::string(kGoRead) + ": no RET found";
  if (!write_point || !read_point || !returns || returns->empty()) {
    finding.reason = "no probe point: " + why;
    report.found.push_back(std::move(finding));
    return;
  }
  auto& plan = report.probes;
  plan.push_back({kernel::TlsProbe::go_write, write_point->file_offset,
                  go_label(kernel::TlsProbe::go_write, path, *table, write_point->function_offset,
                           write_point->instruction, write_point->emulated)});
  plan.push_back({kernel::TlsProbe::go_read, read_point->file_offset,
                  go_label(kernel::TlsProbe::go_read, path, *table, read_point->function_offset,
                           read_point->instruction, read_point->emulated)});
  for (uint64_t at : *returns)
    plan.push_back({kernel::TlsProbe::go_read_ret, at,
                    go_label(kernel::TlsProbe::go_read_ret, path, *table, at - read->file_offset, "ret", false)});
  finding.planned = true;
  report.found.push_back(std::move(finding));
}

// BoringSSL linked in without symbols (Bun): SSL_write and SSL_read found by their error-site signature, probed at
// their entries (push %rbp: emulated); SSL_read's return by the uretprobe trampoline. Refused with the reason when
// the signature does not match.
void inspect_boringssl(const tls::ElfFile& elf, const std::string& path, TlsFileReport& report) {
  std::string why;
  auto found = tls::locate_boringssl(elf, &why);
  if (!found) {
    report.found.push_back({"boringssl", "", false, why});
    return;
  }
  auto label = [&](kernel::TlsProbe probe, uint64_t offset) {
    return std::string(kernel::tls_probe_name(probe)) + "@" + path + "+" + hex(offset) +
           " (push %rbp, emulated; BoringSSL by its ssl_lib.cc error sites)";
  };
  report.probes.push_back({kernel::TlsProbe::ssl_write, found->ssl_write_offset,
                           label(kernel::TlsProbe::ssl_write, found->ssl_write_offset)});
  report.probes.push_back({kernel::TlsProbe::ssl_read, found->ssl_read_offset,
                           label(kernel::TlsProbe::ssl_read, found->ssl_read_offset)});
  report.probes.push_back({kernel::TlsProbe::ssl_read_ret, found->ssl_read_offset,
                           label(kernel::TlsProbe::ssl_read_ret, found->ssl_read_offset)});
  report.found.push_back({"boringssl", "", true, ""});
}

// OpenSSL's entry points by symbol (SSL_write found): the write, SSL_ctrl, SSL_free, the reads, SSL_new's return.
void inspect_openssl(const std::string& path, const std::vector<tls::ElfFunction>& functions,
                     const char* implementation, TlsFileReport& report) {
  LibraryFunctions library{path, {}};
  for (const auto& f : functions) library.by_name.emplace(f.name, f);
  Planner planner(library);
  for (const auto& spec : kProbes) {
    if (auto point = library.entry_point(spec.function, spec.args_needed)) planner.add(spec.probe, spec.function, *point);
  }
  planner.add_reads();
  if (auto point = library.entry_point("SSL_new", 0)) {
    // A return probe needs the return address on top of the stack: the entry, or an emulated instruction after
    // only state-preserving ones.
    if (point->args != tls::ArgsAt::entry) point = library.function_entry("SSL_new");
    if (point) planner.add(kernel::TlsProbe::ssl_new_ret, "SSL_new", *point);
  }
  report.probes = planner.take();
  const bool writes = std::any_of(report.probes.begin(), report.probes.end(), [](const TlsProbePlan& p) {
    return p.probe == kernel::TlsProbe::ssl_write || p.probe == kernel::TlsProbe::ssl_write_ex;
  });
  report.found.push_back({implementation, "", writes, writes ? "" : "no probe point for SSL_write"});
}

}  // namespace

const char* uprobe_mode_name(UprobeMode mode) { return mode == UprobeMode::global ? "global" : "per_process"; }

bool may_hold_tls(const std::string& mapped_path, const std::string& exe) {
  std::string name = common::file_name(mapped_path);
  return name.rfind("libssl.so", 0) == 0 || mapped_path == exe || name == "node" || name == "nodejs" ||
         tls::is_unsupported_tls_library(name);
}

TlsFileReport inspect_tls_file(const std::string& path) {
  TlsFileReport report;
  if (auto library = tls::unsupported_library(common::file_name(path))) {
    report.found.push_back({library->implementation, "", false, library->reason});
    return report;
  }
  std::string error;
  auto elf = tls::ElfFile::open(path, &error);
  if (!elf) return report;  // not an ELF file we can read: nothing to attach
  std::vector<std::string> names;
  for (const auto& spec : kProbes) names.push_back(spec.function);
  for (const char* name : {"SSL_read", "SSL_read_ex", "SSL_new"}) names.push_back(name);
  auto functions = tls::find_functions(*elf, names);
  const bool openssl_symbols = std::any_of(functions.begin(), functions.end(),
                                           [](const tls::ElfFunction& f) { return f.name == "SSL_write"; });
  if (openssl_symbols) {
    inspect_openssl(path, functions, tls::has_boringssl(*elf) ? "boringssl" : "openssl", report);
  } else if (tls::is_go_binary(*elf)) {
    inspect_go(*elf, path, report);
  } else if (tls::has_boringssl(*elf)) {
    inspect_boringssl(*elf, path, report);
  } else if (tls::has_rustls(*elf)) {
    report.found.push_back({"rustls", "", false, "unsupported: rustls"});
  } else if (tls::has_stripped_openssl(*elf)) {
    report.found.push_back({"openssl", "", false, "no symbols: OpenSSL linked statically and stripped"});
  }
  return report;
}

std::vector<TlsProbePlan> plan_tls_probes(const std::string& path) { return inspect_tls_file(path).probes; }

std::string tls_coverage_summary(const std::vector<TlsCoverageEntry>& entries) {
  if (entries.empty()) return "none_found";
  const auto probed = std::count_if(entries.begin(), entries.end(), [](const TlsCoverageEntry& e) { return e.probed; });
  if (probed == static_cast<long>(entries.size())) return "covered";
  return probed ? "partial" : "not_covered";
}

TlsLibraries::TlsLibraries(kernel::UprobeAttacher& probes, TlsLibrariesOptions options,
                           PreloadCaptures preload_captures)
    : probes_(probes), options_(std::move(options)), preload_captures_(std::move(preload_captures)) {}

std::shared_ptr<const TlsLibraries::FilePlan> TlsLibraries::plan_for(const std::string& path, const FileKey& key) {
  if (auto it = plans_.find(key); it != plans_.end()) return it->second;
  if (plans_.size() >= kMaxPlans) plans_.clear();  // links hold no reference to plans: only re-parsing costs
  auto plan = std::make_shared<FilePlan>();
  TlsFileReport report = inspect_tls_file(path);
  plan->probes = std::move(report.probes);
  plan->found = std::move(report.found);
  plan->libssl = is_libssl(path);
  ++stats_.files_planned;
  return plans_[key] = std::move(plan);
}

size_t TlsLibraries::start() {
  size_t attached = 0;
  for (const char* path : kKnownLibssl) attached += attach_file_global(path);
  for (const char* path : kKnownNode) attached += attach_file_global(path);
  return attached;
}

// Global mode: once per file, for every process. Per-process mode: only planned (listed in agent_ready).
size_t TlsLibraries::attach_file_global(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return 0;
  const FileKey key{st.st_dev, st.st_ino};
  if (!global_files_.insert(key).second) return 0;
  auto plan = plan_for(path, key);
  size_t attached = 0;
  for (const auto& probe : plan->probes) {
    if (options_.mode == UprobeMode::per_process) {
      attached_.push_back(probe.label + ", per process");
      continue;
    }
    std::string error;
    auto link = probes_.attach_uprobe(probe.probe, path, probe.file_offset, -1, &error);
    if (!link) {
      ++stats_.failures;
      log::write(log::Level::warn, error);
      continue;
    }
    global_links_.push_back(std::move(link));
    attached_.push_back(probe.label);
    ++attached;
  }
  global_links_by_file_[key] += attached;
  return attached;
}

TlsLibraries::FileCoverage& TlsLibraries::coverage_of(uint32_t pid, const FileKey& key,
                                                      const CandidateFile& candidate,
                                                      std::shared_ptr<const FilePlan> plan) {
  FileCoverage& entry = coverage_[pid][key];
  if (entry.file.empty() || candidate.mapped) entry.file = candidate.file;
  entry.mapped = entry.mapped || candidate.mapped;
  entry.plan = std::move(plan);
  return entry;
}

// One process, one file (through the process's root): the file's planned probes with the pid, once per (pid, file).
size_t TlsLibraries::attach_file_for(uint32_t pid, const CandidateFile& candidate, bool libssl_name) {
  struct stat st{};
  if (::stat(candidate.through.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return 0;
  const FileKey key{st.st_dev, st.st_ino};
  auto plan = plan_for(candidate.through, key);
  FileCoverage& coverage = coverage_of(pid, key, candidate, plan);
  auto existing = by_process_.find(pid);
  if (existing != by_process_.end() && existing->second.files.count(key)) return 0;
  if (libssl_name && preload_captures_ && preload_captures_(pid)) {  // interposed in-process
    coverage.preload = true;
    return 0;
  }
  if (plan->probes.empty()) return 0;
  if (process_links_ + plan->probes.size() > options_.max_process_links) {
    stats_.links_refused += plan->probes.size();
    coverage.limit_hit = true;
    return 0;
  }
  const bool first = existing == by_process_.end();
  ProcessLinks& process = by_process_[static_cast<uint32_t>(pid)];
  auto& links = process.files[key];
  for (const auto& probe : plan->probes) {
    std::string error;
    auto link = probes_.attach_uprobe(probe.probe, candidate.through, probe.file_offset, static_cast<int>(pid), &error);
    if (!link) {
      ++stats_.failures;
      log::debug(error);
      if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {  // gone already: nothing to watch
        coverage.exited = true;
        break;
      }
      continue;
    }
    links.push_back(std::move(link));
  }
  if (plan->libssl || libssl_name) process.libssl.insert(key);
  process_links_ += links.size();
  coverage.links = links.size();
  coverage.limit_hit = false;
  if (first) ++stats_.processes_attached;
  return links.size();
}

// The files of a process that may hold TLS code, through its root: executable mappings (libssl*, node, the
// executable, the TLS libraries reported as unsupported), and, with_known_locations (no hold at libssl maps), the
// usual libssl locations ld.so may map next.
std::vector<TlsLibraries::CandidateFile> TlsLibraries::candidate_files(uint32_t pid, bool with_known_locations) {
  const std::string base = options_.proc_root + "/" + std::to_string(pid);
  std::string exe;
  {
    char buf[4096];
    ssize_t n = ::readlink((base + "/exe").c_str(), buf, sizeof(buf) - 1);
    if (n > 0) exe.assign(buf, static_cast<size_t>(n));
  }
  if (!exe.empty()) examined_.insert(pid);
  std::map<std::string, bool> files;  // path → mapped
  std::ifstream maps(base + "/maps");
  std::string line;
  while (std::getline(maps, line)) {
    std::istringstream fields(line);
    std::string range, perms, offset, dev, inode, path;
    fields >> range >> perms >> offset >> dev >> inode;
    std::getline(fields >> std::ws, path);
    if (perms.size() < 3 || perms[2] != 'x' || path.empty() || path[0] != '/') continue;
    if (may_hold_tls(path, exe)) files[path] = true;
  }
  if (!exe.empty() && exe[0] == '/' && !files.count(exe) && exe.find(" (deleted)") == std::string::npos)
    files[exe] = true;  // at exec, before its mappings are listed
  if (with_known_locations) {
    for (const char* path : kKnownLibssl) files.emplace(path, false);
  }
  // libssl first (the file a child's first request goes through), each file once (/lib and /usr/lib are often one).
  // A file listed under two paths is one candidate, mapped if either path is (named by the mapped one).
  std::vector<CandidateFile> out;
  std::map<FileKey, size_t> seen;
  for (bool libssl : {true, false}) {
    for (const auto& [path, mapped] : files) {
      if (is_libssl(path) != libssl) continue;
      struct stat st{};
      const std::string through = base + "/root" + path;
      if (::stat(through.c_str(), &st) != 0) continue;
      auto [it, inserted] = seen.try_emplace({st.st_dev, st.st_ino}, out.size());
      if (inserted) {
        out.push_back({through, path, mapped});
      } else if (mapped && !out[it->second].mapped) {
        out[it->second] = {through, path, true};
      }
    }
  }
  return out;
}

size_t TlsLibraries::attach_for_process(uint32_t pid, uint64_t since_ns) {
  if (options_.mode == UprobeMode::global) {
    size_t attached = 0;
    for (const auto& candidate : candidate_files(pid, false)) attached += attach_global_for(pid, candidate);
    return attached;
  }
  size_t attached = 0;
  for (const auto& candidate : candidate_files(pid, !libssl_maps_held_))
    attached += attach_file_for(pid, candidate, is_libssl(candidate.file));
  if (attached) note_latency(since_ns);
  return attached;
}

namespace {

// The path of the mapping of (dev, inode) in a process, from its maps ("" when not there).
std::string mapped_path(const std::string& base, uint64_t dev, uint64_t inode) {
  const unsigned major = static_cast<unsigned>(dev >> 20), minor = static_cast<unsigned>(dev & 0xfffff);
  char want_dev[32];
  std::snprintf(want_dev, sizeof(want_dev), "%02x:%02x", major, minor);
  std::ifstream maps(base + "/maps");
  std::string line;
  while (std::getline(maps, line)) {
    std::istringstream fields(line);
    std::string range, perms, offset, dev_field, inode_field, path;
    fields >> range >> perms >> offset >> dev_field >> inode_field;
    std::getline(fields >> std::ws, path);
    if (inode_field == std::to_string(inode) && dev_field == want_dev && !path.empty() && path[0] == '/') return path;
  }
  return "";
}

}  // namespace

size_t TlsLibraries::attach_mapped(uint32_t pid, uint64_t dev, uint64_t inode, uint64_t start, uint64_t since_ns) {
  ++stats_.libraries_mapped;
  const std::string base = options_.proc_root + "/" + std::to_string(pid);
  std::string path = mapped_path(base, dev, inode);
  std::string through;
  if (!path.empty()) {
    through = base + "/root" + path;
  } else {
    // Not (yet or any more) in maps under that device: the mapping itself, by its start address.
    std::ifstream maps(base + "/maps");
    std::string line;
    const std::string prefix = [&] {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%llx-", static_cast<unsigned long long>(start));
      return std::string(buf);
    }();
    while (std::getline(maps, line)) {
      if (line.rfind(prefix, 0) == 0) {
        through = base + "/map_files/" + line.substr(0, line.find(' '));
        break;
      }
    }
  }
  if (through.empty()) return 0;
  examined_.insert(pid);
  const CandidateFile candidate{through, path.empty() ? through : path, true};
  if (options_.mode == UprobeMode::global) return attach_global_for(pid, candidate);
  const size_t attached = attach_file_for(pid, candidate, is_libssl(candidate.file));
  if (attached) note_latency(since_ns);
  return attached;
}

void TlsLibraries::release_process(uint32_t pid) {
  coverage_.erase(pid);
  examined_.erase(pid);
  auto it = by_process_.find(pid);
  if (it == by_process_.end()) return;
  for (const auto& [key, links] : it->second.files) process_links_ -= links.size();
  by_process_.erase(it);  // closes the links
  ++stats_.processes_released;
}

size_t TlsLibraries::preload_became_active(uint32_t pid) {
  auto it = by_process_.find(pid);
  if (it == by_process_.end()) return 0;
  size_t closed = 0;
  for (const auto& key : it->second.libssl) {
    auto file = it->second.files.find(key);
    if (file == it->second.files.end()) continue;
    closed += file->second.size();
    it->second.files.erase(file);  // closes them
    if (auto coverage = coverage_.find(pid); coverage != coverage_.end()) {
      if (auto entry = coverage->second.find(key); entry != coverage->second.end())
        entry->second.links = 0, entry->second.preload = true;
    }
  }
  it->second.libssl.clear();
  process_links_ -= closed;
  if (it->second.files.empty()) {
    by_process_.erase(it);
    ++stats_.processes_released;
  }
  return closed;
}

void TlsLibraries::note_latency(uint64_t since_ns) {
  if (!since_ns) return;
  const uint64_t now = common::boot_clock_ns();
  if (now < since_ns) return;
  const uint64_t us = (now - since_ns) / 1000;
  ++stats_.latency_samples;
  stats_.latency_us_total += us;
  if (us > stats_.latency_us_max) stats_.latency_us_max = us;
}

}  // namespace credtrace::sensors

namespace credtrace::sensors {

// Global mode: the file attached for everyone, and noted in this process's coverage.
size_t TlsLibraries::attach_global_for(uint32_t pid, const CandidateFile& candidate) {
  const size_t attached = attach_file_global(candidate.through);
  struct stat st{};
  if (::stat(candidate.through.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return attached;
  const FileKey key{st.st_dev, st.st_ino};
  FileCoverage& coverage = coverage_of(pid, key, candidate, plan_for(candidate.through, key));
  coverage.links = global_links_by_file_[key];
  return attached;
}

std::vector<TlsCoverageEntry> TlsLibraries::coverage(uint32_t pid) const {
  std::vector<TlsCoverageEntry> out;
  auto it = coverage_.find(pid);
  if (it == coverage_.end()) return out;
  for (const auto& [key, file] : it->second) {
    if (!file.mapped || !file.plan) continue;
    for (const auto& found : file.plan->found) {
      TlsCoverageEntry entry{found.implementation, file.file, found.version, false, found.reason, {}};
      if (found.planned) {
        const size_t planned = file.plan->probes.size();
        if (file.preload) {
          entry.probed = true, entry.reason = "preload";
        } else if (file.limit_hit) {
          entry.reason = "not attached: tls.max_process_links reached";
        } else if (file.links == 0 && file.exited) {
          entry.reason = "not attached: the process exited first";
        } else if (file.links == 0) {
          entry.reason = "not attached: the kernel refused its uprobes";
        } else {
          entry.probed = true;
          if (file.links < planned)
            entry.reason = std::to_string(planned - file.links) + " of " + std::to_string(planned) +
                           " probe points refused by the kernel";
          for (const auto& probe : file.plan->probes) entry.probes.push_back(probe.label);
        }
      }
      out.push_back(std::move(entry));
    }
  }
  return out;
}

}  // namespace credtrace::sensors
