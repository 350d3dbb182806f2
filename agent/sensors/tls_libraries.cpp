// TLS library attachment: ELF symbols → emulated probe points (agent/tls) → uprobes, deduplicated by inode.
#include "sensors/tls_libraries.h"

#include "common/paths.h"

#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "tls/elf_symbols.h"
#include "tls/probe_point.h"

namespace credtrace::sensors {
namespace {

struct ProbeSpec {
  const char* function;
  loader::TlsProbe probe;
  int args_needed;
};

constexpr ProbeSpec kProbes[] = {
    {"SSL_write", loader::TlsProbe::ssl_write, 3},
    {"SSL_write_ex", loader::TlsProbe::ssl_write_ex, 3},
    {"SSL_ctrl", loader::TlsProbe::ssl_ctrl, 4},
    {"SSL_free", loader::TlsProbe::ssl_free, 1},
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
  std::string error;
  auto functions = tls::find_functions(path, names, &error);
  if (!functions) return 0;  // not an ELF file we can read: nothing to attach
  bool has_write = false;
  for (const auto& f : *functions) has_write |= f.name == "SSL_write";
  if (!has_write) return 0;
  size_t attached = 0;
  for (const auto& spec : kProbes) {
    for (const auto& f : *functions) {
      if (f.name != spec.function) continue;
      auto code = tls::read_function_bytes(path, f, 128);
      if (!code) {
        ++failures_;
        continue;
      }
      tls::ProbePoint point = tls::choose_entry_probe(f, *code, spec.args_needed);
      if (std::string err = probes_.attach_uprobe(spec.probe, path, point.file_offset); !err.empty()) {
        ++failures_;
        continue;
      }
      ++attached;
      attached_.push_back(std::string(spec.function) + "@" + path + "+" + hex(point.function_offset) + " (" +
                          point.instruction + (point.emulated ? ", emulated)" : ", single-stepped)"));
    }
  }
  return attached;
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
