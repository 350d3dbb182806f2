// What the process tracker tells the sensors: processes joining a server's workload, watches set, exits, servers
// forgotten, MCP client projects found. Every hook has a no-op default.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "credtrace/v1/events.pb.h"
#include "discovery/mcp_discovery.h"
#include "tracking/process_table.h"

namespace credtrace::tracking {

// One running (or recently exited) MCP server instance and the workload it and its descendants belong to.
struct TrackedServer {
  uint32_t pid = 0;
  discovery::McpIdentity identity;
  // Shared with what sensors keep of the server (one copy per server, not per process and sensor); updated in place
  // (its TLS coverage) on the agent's thread, so every holder reports the current one.
  std::shared_ptr<credtrace::v1::Workload> workload = std::make_shared<credtrace::v1::Workload>();
  credtrace::v1::Process process;  // as seen at start: /proc is gone by exit
};

// Who a pid is: its record (null when unknown even to /proc) and its server (null when it belongs to none).
struct Attribution {
  const process::ProcessRecord* record = nullptr;
  const TrackedServer* server = nullptr;
};

class ProcessObserver {
 public:
  virtual ~ProcessObserver() = default;
  // The kernel now watches pid (a server or one of its descendants).
  virtual void on_watch_set(uint32_t /*pid*/) {}
  // The process joins a server's workload (a server starting, a descendant, a re-exec inside one). Called before
  // the slower identity work, so what /proc still holds for a short-lived process is read first.
  virtual void on_joining(const process::ProcessRecord& /*record*/) {}
  // The server is starting: details for its mcp_server_start event and its workload, added before it is written.
  virtual void on_server_starting(const process::ProcessRecord& /*record*/, TrackedServer& /*server*/,
                                  credtrace::v1::McpServerStart& /*start*/) {}
  // ... and is now attributed to `server`, whose start has been reported.
  virtual void on_attributed(const process::ProcessRecord& /*record*/, const TrackedServer& /*server*/) {}
  // An exec was handled (whatever the process is): state kept for that exec can go.
  virtual void on_exec_handled(uint32_t /*pid*/) {}
  virtual void on_exit(uint32_t /*pid*/) {}
  // A server instance none of the tracked processes refers to any more.
  virtual void on_server_forgotten(uint32_t /*server_pid*/) {}
  // The working directory of an MCP client: its project-level configs matter.
  virtual void on_client_project(const std::string& /*dir*/) {}
};

}  // namespace credtrace::tracking
