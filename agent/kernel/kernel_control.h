// The agent's narrow handle on the kernel probes (pid sets, the exec prefilter, capture control, TLS uprobes) and
// the names of kernel records: everything above the loader talks to the kernel through this, never through libbpf.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "events.h"

namespace credtrace::kernel {

// What the kernel counted since the probes loaded (read from per-CPU maps by the loader).
struct KernelCounters {
  std::array<uint64_t, CT_EVENT_TYPE_MAX> events{};
  std::array<uint64_t, CT_DROP_REASON_MAX> drops{};
  std::array<uint64_t, CT_EVENT_TYPE_MAX> truncations{};
  uint64_t filtered_execs = 0;
};

// The TLS uprobe programs; attached per library file by the TLS sensor, not at start.
enum class TlsProbe {
  ssl_write, ssl_write_ex, ssl_ctrl, ssl_free, ssl_read, ssl_read_ex, ssl_read_ret, ssl_new_ret,  // OpenSSL
  go_write, go_read, go_read_ret,  // Go crypto/tls: (*Conn).Write, (*Conn).Read entry and each of its RETs
};

const char* event_type_name(uint32_t type);
const char* drop_reason_name(uint32_t reason);
const char* tls_probe_name(TlsProbe probe);
// Return probes (uretprobes) among them.
bool is_return_probe(TlsProbe probe);

// Which processes the kernel watches, what it reports at exec, what it stops capturing.
class WatchControl {
 public:
  virtual ~WatchControl() = default;
  virtual void add_to_set(ct_pid_set set, uint32_t tgid) = 0;
  virtual void remove_from_set(ct_pid_set set, uint32_t tgid) = 0;
  // Adds an executable file name to the exec prefilter (names longer than 31 bytes cannot be keys: false). A
  // wrapper's exec (sh, env, …) is reported only when its arguments mention "mcp".
  virtual bool add_exec_name(const std::string& name, bool wrapper) = 0;
  // The socket is not plain HTTP: stop copying its writes.
  virtual void stop_socket_capture(uint32_t tgid, uint32_t fd) = 0;
  // An MCP server's stdin or stdout (the pipe or socket with this inode): watched processes' reads of fd 0 and
  // writes of fd 1 on it are captured (CT_EVENT_STDIO_DATA). false when the map is full.
  virtual bool add_stdio_file(uint64_t inode, uint32_t server_tgid) = 0;
  virtual void remove_stdio_file(uint64_t inode) = 0;
  // Removes inode only while it is listed for that tgid (what the kernel listed at a candidate's first message).
  virtual void remove_stdio_file_listed_for(uint64_t inode, uint32_t tgid) = 0;
};

// One attached TLS uprobe; destroying it detaches the probe and closes its file descriptor.
class UprobeLink {
 public:
  virtual ~UprobeLink() = default;
};

// Attaches one TLS uprobe to a file at a file offset, for one process (pid ≥ 0: the breakpoint is installed only in
// that process's memory, and follows it across exec) or for every process that maps the file (pid −1). The programs
// themselves still check the watch.
class UprobeAttacher {
 public:
  virtual ~UprobeAttacher() = default;
  // The link (it lives until released), or null with *error saying what failed.
  virtual std::unique_ptr<UprobeLink> attach_uprobe(TlsProbe probe, const std::string& path, uint64_t file_offset,
                                                    int pid, std::string* error) = 0;
  // Links alive now, and ever created.
  virtual size_t uprobes_attached() const = 0;
};

// A kernel record is handed on only when it is of a known kind and at least as long as its fixed fields (data
// records: as long as the data they carry); the others are counted.
enum class RecordCheck { ok, too_short, unknown_kind };
RecordCheck check_record(const void* data, size_t size);

}  // namespace credtrace::kernel

namespace credtrace::kernel {

// A consumer of kernel records: the agent routes each record kind to the one handler that claims it.
class RecordHandler {
 public:
  virtual ~RecordHandler() = default;
  // The CT_EVENT_* kinds this handler takes; none for one with its own source (inotify, /proc).
  virtual std::vector<uint32_t> record_kinds() const { return {}; }
  // A record of one of those kinds, already checked by check_record().
  virtual void on_record(const void* /*data*/, size_t /*size*/) {}
};

}  // namespace credtrace::kernel
