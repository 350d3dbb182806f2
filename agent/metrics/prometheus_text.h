// The agent's health counters in the Prometheus text exposition format (version 0.0.4).
#pragma once

#include <string>

#include "credtrace/v1/events.pb.h"

namespace credtrace::metrics {

// Kernel events, drops and truncations, agent errors, sensor counters (streams, uprobe links and refusals, collector
// batches, spool bytes, ...), watched processes, MCP servers, filtered execs and uptime.
std::string render_prometheus(const credtrace::v1::AgentHealth& health);

}  // namespace credtrace::metrics
