// Prometheus text rendering of AgentHealth: one family per map, label values escaped per the format.
#include "metrics/prometheus_text.h"

#include <map>
#include <sstream>

namespace credtrace::metrics {
namespace {

std::string escaped(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

template <typename Map>
void family(std::ostringstream& out, const std::string& name, const std::string& type, const std::string& help,
            const std::string& label, const Map& values) {
  out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  std::map<std::string, uint64_t> sorted(values.begin(), values.end());
  for (const auto& [key, value] : sorted) out << name << '{' << label << "=\"" << escaped(key) << "\"} " << value << '\n';
}

template <typename Number>
void single(std::ostringstream& out, const std::string& name, const std::string& type, const std::string& help,
            Number value) {
  out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n' << name << ' ' << value << '\n';
}

}  // namespace

std::string render_prometheus(const credtrace::v1::AgentHealth& health) {
  std::ostringstream out;
  family(out, "credtrace_agent_kernel_events_total", "counter", "Kernel records read, by type.", "type",
         health.events());
  family(out, "credtrace_agent_kernel_drops_total", "counter", "Kernel records dropped, by reason.", "reason",
         health.drops());
  family(out, "credtrace_agent_kernel_truncations_total", "counter", "Kernel captures cut to fit, by record type.",
         "type", health.truncations());
  family(out, "credtrace_agent_errors_total", "counter", "Agent failures, by kind.", "kind", health.agent_errors());
  family(out, "credtrace_agent_sensor", "gauge",
         "Sensor and sink counters as in agent_health.sensors (streams, uprobe links, attach failures, collector "
         "batches and send failures, spool bytes, ...).",
         "counter", health.sensors());
  single(out, "credtrace_agent_watched_processes", "gauge", "Processes in MCP server workloads.",
         health.watched_processes());
  single(out, "credtrace_agent_mcp_servers", "gauge", "MCP servers running.", health.mcp_servers());
  single(out, "credtrace_agent_execs_filtered_total", "counter", "Execs the kernel prefilter skipped.",
         health.execs_filtered());
  out << "# HELP credtrace_agent_kube_api_state The Kubernetes pod watch's state (1 for the current one).\n"
      << "# TYPE credtrace_agent_kube_api_state gauge\n";
  for (const char* state : {"off", "listing", "watching", "backoff"})
    out << "credtrace_agent_kube_api_state{state=\"" << state << "\"} "
        << ((health.kube_api_state().empty() ? std::string("off") : health.kube_api_state()) == state ? 1 : 0) << '\n';
  single(out, "credtrace_agent_uptime_seconds", "gauge", "Seconds since the agent started.", health.uptime_seconds());
  return out.str();
}

}  // namespace credtrace::metrics
