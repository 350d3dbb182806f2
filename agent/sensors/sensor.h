// The sensor interface: every source of evidence (environment, files, MCP configs, TLS and sockets) implements it,
// and the context the agent hands each one. Adding a sensor is a folder under sensors/ and one line in agent.cpp.
#pragma once

#include <chrono>
#include <set>
#include <string>
#include <string_view>

#include "config/agent_config.h"
#include "credtrace/v1/events.pb.h"
#include "events/credential_registry.h"
#include "events/event_factory.h"
#include "export/event_sink.h"
#include "kernel/kernel_control.h"
#include "secrets/fingerprint.h"
#include "sensors/mcp/mcp_calls.h"
#include "tracking/process_observer.h"
#include "tracking/process_tracker.h"

namespace credtrace::sensors {

// What a sensor may use: it fingerprints what it finds, asks the tracker who a pid is, records where credentials
// were seen and writes events; it reaches the kernel only through the narrow controls.
struct SensorContext {
  const config::AgentConfig& config;
  const secrets::Fingerprinter& fingerprinter;
  const events::EventFactory& events;
  exporter::EventSink& sink;
  events::CredentialRegistry& registry;
  tracking::ProcessTracker& tracker;
  kernel::WatchControl& kernel;
  kernel::UprobeAttacher& uprobes;
  McpCalls& mcp_calls;  // every sensor that sees MCP messages or downstream requests reports them here
};

// Whether a reload changed the env-name patterns or excludes (the sensors that read environments rebuild theirs).
inline bool env_names_changed(const std::set<std::string>& keys) {
  return keys.count("secrets.env_name_patterns") || keys.count("secrets.extra_env_name_patterns") ||
         keys.count("secrets.env_name_excludes");
}

class Sensor : public kernel::RecordHandler, public tracking::ProcessObserver {
 public:
  using Clock = std::chrono::steady_clock;

  virtual std::string_view name() const = 0;
  // Once, after the probes attached and before running processes are scanned.
  virtual void start() {}
  // Every turn of the main loop, after the ring buffer was drained: the sensor's own sources and expiries.
  virtual void poll(Clock::time_point /*now*/) {}
  // Once, right after agent_ready is out (the running processes were scanned).
  virtual void on_ready() {}
  // At shutdown: whatever it still holds is reported.
  virtual void stop() {}
  // Its counters into agent_health (sensors map; failures as agent_errors).
  virtual void report(credtrace::v1::AgentHealth& health) const = 0;
  // A config reload (SIGHUP) changed these keys (config::reloadable_keys) in the config it reads: it applies those
  // it uses, keeping what it holds (streams, windows, watches).
  virtual void reload(const std::set<std::string>& /*changed_keys*/) {}
  // What it attached, for agent_ready.probes.
  virtual void describe(credtrace::v1::AgentReady& /*ready*/) const {}
};

}  // namespace credtrace::sensors
