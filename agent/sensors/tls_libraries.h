// TLS library attachment: finds OpenSSL in files (system libssl, node) and attaches the TLS uprobes once per file.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "loader/probes.h"

namespace credtrace::sensors {

class TlsLibraries {
 public:
  explicit TlsLibraries(loader::Probes& probes) : probes_(probes) {}

  // Attaches to a file exporting SSL_write, once per (device, inode). Returns probes attached now.
  size_t attach_file(const std::string& path);
  // Every executable mapping of a process that may hold OpenSSL (libssl*, its main binary), through its root.
  size_t attach_for_process(uint32_t pid, const std::string& proc_root);
  // The usual system libssl locations and node binaries, so lazily loaded libraries are covered from the start.
  size_t attach_known_locations();

  const std::vector<std::string>& attached() const { return attached_; }
  uint64_t failures() const { return failures_; }

 private:
  loader::Probes& probes_;
  std::set<std::pair<dev_t, ino_t>> seen_;
  std::vector<std::string> attached_;
  uint64_t failures_ = 0;
};

}  // namespace credtrace::sensors
