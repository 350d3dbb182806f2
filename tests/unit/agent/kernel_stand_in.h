// Test support for sensor tests and benchmarks without BPF: kernel controls that do nothing (counting socket-capture
// stops) and the records a watched MCP server's exec and its TLS or socket data arrive as from the ring buffer.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "kernel/kernel_control.h"

namespace credtrace::testing {

struct NoKernel final : kernel::WatchControl, kernel::UprobeAttacher {
  void add_to_set(ct_pid_set, uint32_t) override {}
  void remove_from_set(ct_pid_set, uint32_t) override {}
  bool add_exec_name(const std::string&, bool) override { return true; }
  void stop_socket_capture(uint32_t, uint32_t) override { ++stopped; }
  bool add_stdio_file(uint64_t, uint32_t) override { return true; }
  void remove_stdio_file(uint64_t) override {}
  void remove_stdio_file_listed_for(uint64_t, uint32_t) override {}
  std::unique_ptr<kernel::UprobeLink> attach_uprobe(kernel::TlsProbe, const std::string&, uint64_t, int,
                                                    std::string* error) override {
    *error = "no kernel here";
    return nullptr;
  }
  size_t uprobes_attached() const override { return 0; }
  int stopped = 0;
};

// `uvx mcp-server-fetch` exec'd as pid (a default MCP server match), child of init.
inline ct_exec_event server_exec(uint32_t pid) {
  ct_exec_event e{};
  e.hdr.type = CT_EVENT_EXEC;
  e.hdr.tgid = e.hdr.pid = pid;
  e.ppid = 1;
  const std::string args = std::string("uvx\0mcp-server-fetch\0", 21);
  std::memcpy(e.args, args.data(), args.size());
  e.args_len = static_cast<uint32_t>(args.size());
  std::strcpy(e.filename, "/usr/bin/uvx");
  return e;
}

// One call's data (CT_EVENT_TLS_DATA, CT_EVENT_SOCK_DATA, ...) of a watched process, whole in one record.
inline std::unique_ptr<ct_tls_data_event> data_record(uint32_t type, uint32_t pid, uint64_t stream, uint32_t direction,
                                                      std::string_view bytes, uint64_t time_ns) {
  auto e = std::make_unique<ct_tls_data_event>();
  std::memset(e.get(), 0, sizeof(*e));
  e->hdr.type = type;
  e->hdr.tgid = e->hdr.pid = pid;
  e->hdr.flags = CT_FLAG_WATCHED;
  e->hdr.time_boot_ns = time_ns;
  e->ssl = stream;
  e->direction = direction;
  e->total_len = e->len = static_cast<uint32_t>(bytes.size());
  std::memcpy(e->data, bytes.data(), bytes.size());
  return e;
}

}  // namespace credtrace::testing
