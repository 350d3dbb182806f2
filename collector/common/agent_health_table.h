// The agents' last health (agent_health events of stored batches), one bounded entry per agent, as /metrics text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace credtrace::v1 {
class Event;
}

namespace credtrace::collector {

// What keeps /metrics bounded whatever agents send. Counter names are the agents' own (kernel event types, drop
// reasons, error kinds, sensor counters): [a-z0-9_], 1 to max_name_bytes bytes; other names are left out.
struct AgentHealthLimits {
  size_t max_agents = 10000;            // past it the agent whose last health is oldest is evicted
  size_t max_entries_per_map = 512;     // per map of one agent_health (events, drops, ..., sensors)
  size_t max_entries_per_agent = 1024;  // all maps of one agent_health together
  size_t max_name_bytes = 64;
  size_t max_host_bytes = 256;          // longer host names are cut (at a UTF-8 character boundary)
};

using HealthCounters = std::vector<std::pair<std::string, uint64_t>>;  // sorted by name

// One agent's agent_health as /metrics shows it.
struct AgentHealthSnapshot {
  std::string agent_id, host;
  int64_t time_ns = 0;  // the event's time (the agent's clock)
  HealthCounters events, drops, truncations, agent_errors, sensors;
  uint32_t watched_processes = 0, mcp_servers = 0, exec_prefilter_names = 0;
  uint64_t execs_filtered = 0;
  double uptime_seconds = 0;
  std::string kube_api_state;                             // off, listing, watching, backoff ("" is off)
  uint64_t left_out_bad_name = 0, left_out_over_limit = 0;  // map entries not kept, and why
};

// The snapshot of an agent_health event whose time is `time_ns`, bounded by `limits` (entries kept in name order).
AgentHealthSnapshot health_snapshot(const v1::Event& event, int64_t time_ns, const AgentHealthLimits& limits = {});

// A label value in the Prometheus text format: backslash, double quote and line feed escaped.
std::string prometheus_label_value(std::string_view value);

// Thread-safe: ingest threads update it, /metrics renders it. Empty at start: an agent appears with its next health.
class AgentHealthTable {
 public:
  explicit AgentHealthTable(AgentHealthLimits limits = {}) : limits_(limits) {}

  // Keeps `snapshot` unless this agent's entry is newer (a replayed older report changes nothing). A new agent
  // past max_agents evicts the agent whose last health is oldest, which is the new one when its own is.
  void update(AgentHealthSnapshot snapshot);

  size_t size() const;
  uint64_t evictions() const;
  std::shared_ptr<const AgentHealthSnapshot> find(const std::string& agent_id) const;

  // Per-agent families (labels agent_id and host), then the table's own size and evictions.
  std::string prometheus_text() const;

 private:
  using Entry = std::shared_ptr<const AgentHealthSnapshot>;
  // The entries by agent id, copied under the lock (rendering happens outside it).
  std::vector<Entry> entries() const;

  AgentHealthLimits limits_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> agents_;
  std::set<std::pair<int64_t, std::string>> by_age_;  // (time_ns, agent_id): the oldest first
  uint64_t evictions_ = 0;
};

}  // namespace credtrace::collector
