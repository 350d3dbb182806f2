// The agent's table of interesting processes (MCP clients, candidates, servers and their descendants).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace credtrace::process {

enum class Role { none, client, candidate, server, descendant };
const char* role_name(Role role);

struct ProcessRecord {
  uint32_t pid = 0;
  uint32_t ppid = 0;
  uint32_t uid = 0;
  uint64_t start_boottime_ns = 0;
  uint64_t exec_boot_ns = 0;  // boot-clock time of its last exec as the kernel saw it (0: found in /proc)
  std::vector<std::string> argv;
  bool args_truncated = false;
  std::string exe;   // path the kernel exec'd (or /proc/PID/exe for processes found at start)
  std::string comm;
  Role role = Role::none;
  uint32_t server_pid = 0;  // the MCP server this process belongs to (itself for a server)
  uint32_t client_pid = 0;  // the MCP client that launched the server, when known
  // Its fd 0 and fd 1 inodes as the kernel saw them at its first stdin message (0: not seen): what the stdio sensor
  // lists when /proc no longer tells (a server gone before the agent read its first message).
  uint64_t stdin_inode = 0;
  uint64_t stdout_inode = 0;
};

class ProcessTable {
 public:
  ProcessRecord& upsert(const ProcessRecord& record);
  ProcessRecord* find(uint32_t pid);
  const ProcessRecord* find(uint32_t pid) const;
  void erase(uint32_t pid);
  size_t size() const { return records_.size(); }
  size_t count(Role role) const;

  // Nearest ancestor (walking ppid links inside the table, the process itself first) with the given role.
  ProcessRecord* nearest_with_role(uint32_t pid, Role role);
  // Every record whose ppid chain inside the table reaches pid (not pid itself).
  std::vector<uint32_t> descendants_of(uint32_t pid) const;
  std::vector<uint32_t> pids() const;

 private:
  std::unordered_map<uint32_t, ProcessRecord> records_;
};

}  // namespace credtrace::process
