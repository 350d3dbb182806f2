// TLS library attachment: ELF symbols → emulated probe points (agent/tls) → uprobes, deduplicated by inode.
#include "sensors/tls/tls_libraries.h"

#include "common/paths.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <optional>
#include <set>

#include "sensors/tls/elf_symbols.h"
#include "sensors/tls/probe_point.h"

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

bool may_hold_openssl(const std::string& mapped_path, const std::string& exe) {
  std::string name = common::file_name(mapped_path);
  return name.rfind("libssl.so", 0) == 0 || mapped_path == exe || name == "node" || name == "nodejs";
}

std::string hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

size_t TlsLibraries::attach_file(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return 0;
  if (!seen_.insert({st.st_dev, st.st_ino}).second) return 0;
  std::vector<std::string> names;
  for (const auto& spec : kProbes) names.push_back(spec.function);
  for (const char* name : {"SSL_read", "SSL_read_ex", "SSL_new"}) names.push_back(name);
  std::string error;
  auto functions = tls::find_functions(path, names, &error);
  if (!functions) return 0;  // not an ELF file we can read: nothing to attach
  LibraryFunctions library{path, {}};
  for (auto& f : *functions) library.by_name.emplace(f.name, f);
  if (!library.by_name.count("SSL_write")) return 0;
  size_t attached = 0;
  for (const auto& spec : kProbes) {
    auto point = library.entry_point(spec.function, spec.args_needed);
    if (point) attached += attach(spec.probe, spec.function, path, *point);
  }
  attached += attach_reads(library);
  if (auto point = library.entry_point("SSL_new", 0)) {
    // A return probe needs the return address on top of the stack: the entry, or an emulated instruction after
    // only state-preserving ones.
    if (point->args != tls::ArgsAt::entry) point = library.function_entry("SSL_new");
    if (point) attached += attach(kernel::TlsProbe::ssl_new_ret, "SSL_new", path, *point);
  }
  return attached;
}

// SSL_read and SSL_read_ex need an entry probe (where the plaintext goes) and a return probe (how much arrived),
// both at the same entry so the return address is on top of the stack. Where a read function's own entry is
// single-stepped (libssl 3: `sub $0x18,%rsp`) but both forms first call one internal function with the _ex
// signature (ssl_read_internal) whose entry is emulated, that callee is probed instead: one place for both forms.
size_t TlsLibraries::attach_reads(const LibraryFunctions& library) {
  std::optional<tls::ProbePoint> internal;
  if (auto ex = library.entry_point("SSL_read_ex", 4); ex && ex->args == tls::ArgsAt::before_first_call)
    internal = library.callee_entry("SSL_read_ex", *ex);
  size_t attached = 0;
  std::set<uint64_t> done;
  auto attach_read = [&](const char* name, kernel::TlsProbe entry_probe, const tls::ProbePoint& point) {
    if (!done.insert(point.file_offset).second) return;
    size_t n = attach(entry_probe, name, library.path, point);
    if (n) attached += n + attach(kernel::TlsProbe::ssl_read_ret, name, library.path, point);
  };
  const std::pair<const char*, kernel::TlsProbe> forms[] = {{"SSL_read_ex", kernel::TlsProbe::ssl_read_ex},
                                                            {"SSL_read", kernel::TlsProbe::ssl_read}};
  for (const auto& [name, probe] : forms) {
    auto point = library.entry_point(name, probe == kernel::TlsProbe::ssl_read ? 3 : 4);
    if (!point) continue;
    if (point->emulated && point->args == tls::ArgsAt::entry) {
      attach_read(name, probe, *point);
      continue;
    }
    std::optional<tls::ProbePoint> callee;
    if (point->args == tls::ArgsAt::before_first_call) callee = library.callee_entry(name, *point);
    if (callee && internal && callee->file_offset == internal->file_offset) {
      attach_read("ssl_read_internal", kernel::TlsProbe::ssl_read_ex, *internal);
    } else if (auto entry = library.function_entry(name)) {
      attach_read(name, probe, *entry);  // single-stepped, but correct
    }
  }
  return attached;
}

size_t TlsLibraries::attach(kernel::TlsProbe probe, const std::string& function, const std::string& path,
                            const tls::ProbePoint& point) {
  if (std::string err = probes_.attach_uprobe(probe, path, point.file_offset); !err.empty()) {
    ++failures_;
    return 0;
  }
  // "SSL_write@…", "SSL_new return@…", and where the place differs from the probe's own function,
  // "SSL_read_ex in ssl_read_internal@…".
  const std::string name = kernel::tls_probe_name(probe);
  const std::string label = name.substr(0, name.find(' ')) == function ? name : name + " in " + function;
  attached_.push_back(label + "@" + path + "+" + hex(point.function_offset) + " (" + point.instruction +
                      (point.emulated ? ", emulated)" : ", single-stepped)"));
  return 1;
}

std::optional<tls::ProbePoint> TlsLibraries::LibraryFunctions::entry_point(const std::string& name,
                                                                           int args_needed) const {
  auto it = by_name.find(name);
  if (it == by_name.end()) return std::nullopt;
  auto code = tls::read_function_bytes(path, it->second, 128);
  if (!code) return std::nullopt;
  return tls::choose_entry_probe(it->second, *code, args_needed);
}

std::optional<tls::ProbePoint> TlsLibraries::LibraryFunctions::function_entry(const std::string& name) const {
  auto it = by_name.find(name);
  if (it == by_name.end()) return std::nullopt;
  auto code = tls::read_function_bytes(path, it->second, 16);
  if (!code) return std::nullopt;
  // args_needed 7 forbids the call phase: the first emulated state-preserving instruction, else the entry itself.
  return tls::choose_entry_probe(it->second, *code, 7);
}

std::optional<tls::ProbePoint> TlsLibraries::LibraryFunctions::callee_entry(const std::string& caller,
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

size_t TlsLibraries::attach_for_process(uint32_t pid, const std::string& proc_root) {
  const std::string base = proc_root + "/" + std::to_string(pid);
  std::string exe;
  {
    char buf[4096];
    ssize_t n = ::readlink((base + "/exe").c_str(), buf, sizeof(buf) - 1);
    if (n > 0) exe.assign(buf, static_cast<size_t>(n));
  }
  std::ifstream maps(base + "/maps");
  std::set<std::string> files;
  std::string line;
  while (std::getline(maps, line)) {
    std::istringstream fields(line);
    std::string range, perms, offset, dev, inode, path;
    fields >> range >> perms >> offset >> dev >> inode;
    std::getline(fields >> std::ws, path);
    if (perms.size() < 3 || perms[2] != 'x' || path.empty() || path[0] != '/') continue;
    if (may_hold_openssl(path, exe)) files.insert(path);
  }
  size_t attached = 0;
  for (const auto& path : files) attached += attach_file(base + "/root" + path);
  return attached;
}

size_t TlsLibraries::attach_known_locations() {
  size_t attached = 0;
  for (const char* path : {"/usr/lib/x86_64-linux-gnu/libssl.so.3", "/lib/x86_64-linux-gnu/libssl.so.3",
                           "/usr/lib64/libssl.so.3", "/usr/lib/libssl.so.3", "/usr/bin/node", "/usr/local/bin/node"})
    attached += attach_file(path);
  return attached;
}

}  // namespace credtrace::sensors
