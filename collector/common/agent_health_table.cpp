// The agents' last health (agent_health events of stored batches), one bounded entry per agent, as /metrics text.
#include "common/agent_health_table.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "credtrace/v1/events.pb.h"

namespace credtrace::collector {
namespace {

bool is_counter_name(const std::string& name, size_t max_bytes) {
  if (name.empty() || name.size() > max_bytes) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

// The first `max_bytes` bytes of `text`, without a cut UTF-8 character at the end.
std::string cut_utf8(const std::string& text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;  // text[end] continues a char
  return text.substr(0, end);
}

// One map of agent_health, sorted by name: names outside [a-z0-9_]{1,max} and entries past the per-map or
// per-agent bound (`budget`: entries the agent may still keep) are left out and counted.
HealthCounters bounded(const google::protobuf::Map<std::string, uint64_t>& map, const AgentHealthLimits& limits,
                       size_t& budget, AgentHealthSnapshot& out) {
  HealthCounters sorted(map.begin(), map.end());
  std::sort(sorted.begin(), sorted.end());
  HealthCounters kept;
  for (auto& entry : sorted) {
    if (!is_counter_name(entry.first, limits.max_name_bytes)) ++out.left_out_bad_name;
    else if (kept.size() >= limits.max_entries_per_map || budget == 0) ++out.left_out_over_limit;
    else kept.push_back(std::move(entry)), --budget;
  }
  return kept;
}

void append_label_value(std::string& out, std::string_view value) {
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
}

void append_number(std::string& out, uint64_t value) {
  char buffer[24];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, result.ptr);
}

// Shortest round-trip text; NaN and infinities as the format spells them.
void append_number(std::string& out, double value) {
  if (std::isnan(value)) out += "NaN";
  else if (std::isinf(value)) out += value > 0 ? "+Inf" : "-Inf";
  else {
    char buffer[32];
    auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
    out.append(buffer, result.ptr);
  }
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

// An entry and the label text every series of its agent starts with: agent_id="…",host="…".
struct Labeled {
  const AgentHealthSnapshot* health;
  std::string labels;
};

template <typename Number>
void series(std::string& out, const char* name, const std::string& labels, const char* label, std::string_view value,
            Number number) {
  out += name;
  out += '{';
  out += labels;
  if (label != nullptr) {
    out += ',';
    out += label;
    out += "=\"";
    append_label_value(out, value);
    out += '"';
  }
  out += "} ";
  append_number(out, number);
  out += '\n';
}

void map_family(std::string& out, const std::vector<Labeled>& agents, const char* name, const char* type,
                const char* help, const char* label, HealthCounters AgentHealthSnapshot::*counters) {
  header(out, name, type, help);
  for (const auto& agent : agents)
    for (const auto& [key, value] : agent.health->*counters) series(out, name, agent.labels, label, key, value);
}

template <typename Value>
void scalar_family(std::string& out, const std::vector<Labeled>& agents, const char* name, const char* type,
                   const char* help, Value value) {
  header(out, name, type, help);
  for (const auto& agent : agents) series(out, name, agent.labels, nullptr, {}, value(*agent.health));
}

void kube_state_family(std::string& out, const std::vector<Labeled>& agents) {
  const char* name = "credtrace_agent_kube_api_state";
  header(out, name, "gauge", "The agent's Kubernetes pod watch state (1 for the current one).");
  for (const auto& agent : agents) {
    const std::string& state = agent.health->kube_api_state.empty() ? "off" : agent.health->kube_api_state;
    for (const char* known : {"off", "listing", "watching", "backoff"})
      series(out, name, agent.labels, "state", known, uint64_t{state == known ? 1u : 0u});
  }
}

void left_out_family(std::string& out, const std::vector<Labeled>& agents) {
  const char* name = "credtrace_agent_health_entries_left_out";
  header(out, name, "gauge",
         "Counters of the agent's last health not shown here: reason name (not [a-z0-9_], or too long) or "
         "limit (past the per-map or per-agent bound). Only agents with some.");
  for (const auto& agent : agents) {
    if (agent.health->left_out_bad_name > 0)
      series(out, name, agent.labels, "reason", "name", agent.health->left_out_bad_name);
    if (agent.health->left_out_over_limit > 0)
      series(out, name, agent.labels, "reason", "limit", agent.health->left_out_over_limit);
  }
}

std::string agent_labels(const AgentHealthSnapshot& health) {
  std::string labels = "agent_id=\"";
  append_label_value(labels, health.agent_id);
  labels += "\",host=\"";
  append_label_value(labels, health.host);
  labels += '"';
  return labels;
}

void agent_families(std::string& out, const std::vector<Labeled>& agents) {
  using S = AgentHealthSnapshot;
  map_family(out, agents, "credtrace_agent_kernel_events_total", "counter", "Kernel records the agent read, by type.",
             "type", &S::events);
  map_family(out, agents, "credtrace_agent_kernel_drops_total", "counter",
             "Kernel records the agent dropped, by reason.", "reason", &S::drops);
  map_family(out, agents, "credtrace_agent_kernel_truncations_total", "counter",
             "Kernel captures cut to fit, by record type.", "type", &S::truncations);
  map_family(out, agents, "credtrace_agent_errors_total", "counter", "Agent failures, by kind.", "kind",
             &S::agent_errors);
  map_family(out, agents, "credtrace_agent_sensor", "gauge",
             "Sensor and sink counters of agent_health.sensors (TLS streams, uprobe links and attach failures, "
             "collector batches sent and send failures, spool bytes, ...).",
             "counter", &S::sensors);
  scalar_family(out, agents, "credtrace_agent_watched_processes", "gauge", "Processes in MCP server workloads.",
                [](const S& s) { return uint64_t{s.watched_processes}; });
  scalar_family(out, agents, "credtrace_agent_mcp_servers", "gauge", "MCP servers running.",
                [](const S& s) { return uint64_t{s.mcp_servers}; });
  scalar_family(out, agents, "credtrace_agent_execs_filtered_total", "counter", "Execs the kernel prefilter skipped.",
                [](const S& s) { return s.execs_filtered; });
  scalar_family(out, agents, "credtrace_agent_exec_prefilter_names", "gauge", "Executable names in the exec prefilter.",
                [](const S& s) { return uint64_t{s.exec_prefilter_names}; });
  kube_state_family(out, agents);
  scalar_family(out, agents, "credtrace_agent_uptime_seconds", "gauge", "Seconds since the agent started.",
                [](const S& s) { return s.uptime_seconds; });
  scalar_family(out, agents, "credtrace_agent_last_health_timestamp_seconds", "gauge",
                "Time of the agent's last agent_health event (Unix seconds, the agent's clock).",
                [](const S& s) { return static_cast<double>(s.time_ns) / 1e9; });
  left_out_family(out, agents);
}

}  // namespace

std::string prometheus_label_value(std::string_view value) {
  std::string out;
  append_label_value(out, value);
  return out;
}

AgentHealthSnapshot health_snapshot(const v1::Event& event, int64_t time_ns, const AgentHealthLimits& limits) {
  const v1::AgentHealth& health = event.agent_health();
  AgentHealthSnapshot out;
  out.agent_id = event.agent_id();
  out.host = cut_utf8(event.host(), limits.max_host_bytes);
  out.time_ns = time_ns;
  size_t budget = limits.max_entries_per_agent;
  out.events = bounded(health.events(), limits, budget, out);
  out.drops = bounded(health.drops(), limits, budget, out);
  out.truncations = bounded(health.truncations(), limits, budget, out);
  out.agent_errors = bounded(health.agent_errors(), limits, budget, out);
  out.sensors = bounded(health.sensors(), limits, budget, out);
  out.watched_processes = health.watched_processes();
  out.mcp_servers = health.mcp_servers();
  out.exec_prefilter_names = health.exec_prefilter_names();
  out.execs_filtered = health.execs_filtered();
  out.uptime_seconds = health.uptime_seconds();
  const std::string& state = health.kube_api_state();
  out.kube_api_state = is_counter_name(state, limits.max_name_bytes) ? state : "";
  return out;
}

void AgentHealthTable::update(AgentHealthSnapshot snapshot) {
  if (limits_.max_agents == 0) return;
  Entry entry = std::make_shared<const AgentHealthSnapshot>(std::move(snapshot));
  Entry released;  // the replaced or evicted entry: freed after the lock is let go (declared before it)
  std::lock_guard lock(mutex_);
  auto it = agents_.find(entry->agent_id);
  if (it != agents_.end()) {
    if (entry->time_ns < it->second->time_ns) return;
    by_age_.erase(std::pair<int64_t, std::string>(it->second->time_ns, it->first));
    by_age_.emplace(entry->time_ns, it->first);
    released = std::exchange(it->second, std::move(entry));
    return;
  }
  if (agents_.size() >= limits_.max_agents) {
    ++evictions_;
    auto oldest = by_age_.begin();
    if (oldest->first > entry->time_ns) return;  // older than every agent kept: this one goes
    auto evicted = agents_.find(oldest->second);
    released = std::move(evicted->second);
    agents_.erase(evicted);
    by_age_.erase(oldest);
  }
  by_age_.emplace(entry->time_ns, entry->agent_id);
  const std::string agent_id = entry->agent_id;
  agents_.emplace(agent_id, std::move(entry));
}

size_t AgentHealthTable::size() const {
  std::lock_guard lock(mutex_);
  return agents_.size();
}

uint64_t AgentHealthTable::evictions() const {
  std::lock_guard lock(mutex_);
  return evictions_;
}

AgentHealthTable::Entry AgentHealthTable::find(const std::string& agent_id) const {
  std::lock_guard lock(mutex_);
  auto it = agents_.find(agent_id);
  return it == agents_.end() ? nullptr : it->second;
}

std::vector<AgentHealthTable::Entry> AgentHealthTable::entries() const {
  std::vector<Entry> out;
  {
    std::lock_guard lock(mutex_);
    out.reserve(agents_.size());
    for (const auto& [id, entry] : agents_) out.push_back(entry);
  }
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a->agent_id < b->agent_id; });
  return out;
}

std::string AgentHealthTable::prometheus_text() const {
  const std::vector<Entry> kept = entries();
  uint64_t evicted = evictions();
  std::vector<Labeled> agents;
  agents.reserve(kept.size());
  for (const auto& entry : kept) agents.push_back({entry.get(), agent_labels(*entry)});
  std::string out;
  agent_families(out, agents);
  header(out, "credtrace_collector_agents_tracked", "gauge",
         "Agents whose last health /metrics shows (since the collector started; bounded, oldest health evicted).");
  out += "credtrace_collector_agents_tracked ";
  append_number(out, uint64_t{kept.size()});
  out += '\n';
  header(out, "credtrace_collector_agent_health_evictions_total", "counter",
         "Agents dropped from /metrics because the table was full (the one with the oldest last health).");
  out += "credtrace_collector_agent_health_evictions_total ";
  append_number(out, evicted);
  out += '\n';
  return out;
}

}  // namespace credtrace::collector
