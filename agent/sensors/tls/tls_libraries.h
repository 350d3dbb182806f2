// TLS library attachment: finds OpenSSL in files (system libssl, node) and attaches the TLS uprobes once per file.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <map>
#include <optional>

#include "kernel/kernel_control.h"
#include "sensors/tls/elf_symbols.h"
#include "sensors/tls/probe_point.h"

namespace credtrace::sensors {

class TlsLibraries {
 public:
  explicit TlsLibraries(kernel::UprobeAttacher& probes) : probes_(probes) {}

  // Attaches to a file exporting SSL_write, once per (device, inode). Returns probes attached now.
  size_t attach_file(const std::string& path);
  // Every executable mapping of a process that may hold OpenSSL (libssl*, its main binary), through its root.
  size_t attach_for_process(uint32_t pid, const std::string& proc_root);
  // The usual system libssl locations and node binaries, so lazily loaded libraries are covered from the start.
  size_t attach_known_locations();

  const std::vector<std::string>& attached() const { return attached_; }
  uint64_t failures() const { return failures_; }

 private:
  // The OpenSSL functions found in one file, and where to probe them.
  struct LibraryFunctions {
    std::string path;
    std::map<std::string, tls::ElfFunction> by_name;
    std::optional<tls::ProbePoint> entry_point(const std::string& name, int args_needed) const;
    std::optional<tls::ProbePoint> function_entry(const std::string& name) const;
    // The emulated entry of the function `caller` calls at `call` (which must be a before_first_call point).
    std::optional<tls::ProbePoint> callee_entry(const std::string& caller, const tls::ProbePoint& call) const;
  };
  size_t attach_reads(const LibraryFunctions& library);
  size_t attach(kernel::TlsProbe probe, const std::string& function, const std::string& path,
                const tls::ProbePoint& point);

  kernel::UprobeAttacher& probes_;
  std::set<std::pair<dev_t, ino_t>> seen_;
  std::vector<std::string> attached_;
  uint64_t failures_ = 0;
};

}  // namespace credtrace::sensors
