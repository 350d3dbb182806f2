// The TLS coverage report: each watched process's TLS implementations (probed or why not) in its server's
// mcp_server_start, tls_coverage events when they change later, and their union in the server's Workload.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "sensors/sensor.h"
#include "sensors/tls/tls_libraries.h"

namespace credtrace::sensors {

class TlsCoverageReport {
 public:
  TlsCoverageReport(SensorContext& context, const TlsLibraries& libraries) : context_(context), libraries_(libraries) {}

  // A server starting: its coverage in `start` and in its workload (what every later event of it carries).
  void on_server_starting(uint32_t pid, tracking::TrackedServer& server, credtrace::v1::McpServerStart& start);
  // After an attachment for pid (a descendant joining, a library mapped): a tls_coverage event when what it holds
  // changed since it was last reported (a process where nothing was ever found reports nothing).
  void check(uint32_t pid);
  void forget_process(uint32_t pid) { reported_.erase(pid); }
  void forget_server(uint32_t server_pid) { by_server_.erase(server_pid); }

  uint64_t events() const { return events_; }

 private:
  using Key = std::pair<std::string, std::string>;  // implementation, file
  // Adds a process's entries to its server's union and writes the union into the workload.
  void merge_into_workload(uint32_t server_pid, uint32_t pid, const std::vector<TlsCoverageEntry>& entries,
                           credtrace::v1::Workload& workload);

  SensorContext& context_;
  const TlsLibraries& libraries_;
  std::map<uint32_t, std::string> reported_;  // pid → what was last reported for it (a signature)
  struct ServerTls {
    std::map<Key, credtrace::v1::TlsImplementation> all;  // over the server's processes
    bool examined = false;                                // at least one of them was
  };
  std::string summary_of(uint32_t pid, const std::vector<TlsCoverageEntry>& entries) const;
  std::map<uint32_t, ServerTls> by_server_;
  uint64_t events_ = 0;
};

// The event form of a coverage entry; with_probes: the probe points too (not in a Workload).
credtrace::v1::TlsImplementation to_proto(const TlsCoverageEntry& entry, bool with_probes);

}  // namespace credtrace::sensors
