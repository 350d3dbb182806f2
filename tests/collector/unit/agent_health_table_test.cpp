// Unit tests of the per-agent health table behind /metrics: bounds, eviction, newest wins, label escaping.
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "common/agent_health_table.h"
#include "ingest/batch_rows.h"

using namespace credtrace::collector;

namespace {

credtrace::v1::Event health_event(const std::string& agent_id, const std::string& host, uint64_t sent) {
  credtrace::v1::Event event;
  event.set_type("agent_health");
  event.set_agent_id(agent_id);
  event.set_host(host);
  auto* health = event.mutable_agent_health();
  (*health->mutable_events())["exec"] = 40;
  (*health->mutable_drops())["ringbuf_full"] = 2;
  (*health->mutable_truncations())["tls_data"] = 1;
  (*health->mutable_agent_errors())["ringbuf_poll"] = 3;
  (*health->mutable_sensors())["collector_batches_sent"] = sent;
  (*health->mutable_sensors())["collector_spool_bytes"] = 4096;
  health->set_watched_processes(7);
  health->set_mcp_servers(2);
  health->set_uptime_seconds(12.5);
  health->set_execs_filtered(99);
  health->set_exec_prefilter_names(5);
  health->set_kube_api_state("watching");
  return event;
}

AgentHealthSnapshot snapshot(const std::string& agent_id, int64_t seconds, uint64_t sent = 1) {
  return health_snapshot(health_event(agent_id, "host-" + agent_id, sent), seconds * 1'000'000'000);
}

// One series line of the text format, parsed: name, labels (unescaped), value. Fails the test on a malformed line.
struct Series {
  std::string name;
  std::map<std::string, std::string> labels;
  std::string value;
};

Series parse_series(const std::string& line) {
  Series out;
  size_t i = line.find_first_of("{ ");
  out.name = line.substr(0, i);
  EXPECT_TRUE(std::regex_match(out.name, std::regex("[a-zA-Z_:][a-zA-Z0-9_:]*"))) << line;
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (i < line.size() && line[i] != '}') {
      size_t eq = line.find("=\"", i);
      EXPECT_NE(eq, std::string::npos) << line;
      if (eq == std::string::npos) return out;
      std::string name = line.substr(i, eq - i), value;
      for (i = eq + 2; i < line.size() && line[i] != '"'; ++i) {
        if (line[i] != '\\') {
          value += line[i];
          continue;
        }
        const char next = line.at(++i);
        EXPECT_TRUE(next == '\\' || next == '"' || next == 'n') << "bad escape in " << line;
        value += next == 'n' ? '\n' : next;
      }
      EXPECT_LT(i, line.size()) << "unterminated label value: " << line;
      out.labels[name] = value;
      ++i;
      if (i < line.size() && line[i] == ',') ++i;
    }
    ++i;
  }
  EXPECT_EQ(line.at(i), ' ') << line;
  out.value = line.substr(i + 1);
  EXPECT_TRUE(std::regex_match(out.value, std::regex("[-+0-9.eE]+|NaN|[+-]Inf"))) << line;
  return out;
}

// Every series of `text`, checking the format on the way: one TYPE per family, before its series.
std::vector<Series> parse_text(const std::string& text) {
  std::vector<Series> out;
  std::map<std::string, int> types;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("# TYPE ", 0) == 0) {
      EXPECT_EQ(++types[line.substr(7, line.find(' ', 7) - 7)], 1) << "TYPE twice: " << line;
      continue;
    }
    if (line.rfind("# HELP ", 0) == 0) continue;
    Series series = parse_series(line);
    EXPECT_EQ(types.count(series.name), 1u) << "series before its TYPE: " << line;
    out.push_back(series);
  }
  return out;
}

const Series* find_series(const std::vector<Series>& all, const std::string& name,
                          const std::map<std::string, std::string>& labels) {
  for (const auto& series : all) {
    if (series.name != name) continue;
    bool match = true;
    for (const auto& [key, value] : labels) match = match && series.labels.count(key) && series.labels.at(key) == value;
    if (match) return &series;
  }
  return nullptr;
}

}  // namespace

TEST(AgentHealthTable, SnapshotKeepsWellNamedCountersInNameOrder) {
  auto event = health_event("agent-1", "host-1", 5);
  auto& sensors = *event.mutable_agent_health()->mutable_sensors();
  sensors["ghp_SecretLookingName"] = 1;      // uppercase: not a counter name
  sensors["has space"] = 1;
  sensors[std::string(65, 'a')] = 1;         // too long
  sensors[std::string(64, 'b')] = 8;         // just fits
  sensors[""] = 1;
  AgentHealthSnapshot s = health_snapshot(event, 42);
  EXPECT_EQ(s.agent_id, "agent-1");
  EXPECT_EQ(s.host, "host-1");
  EXPECT_EQ(s.time_ns, 42);
  EXPECT_EQ(s.left_out_bad_name, 4u);
  EXPECT_EQ(s.left_out_over_limit, 0u);
  ASSERT_EQ(s.sensors.size(), 3u);
  EXPECT_EQ(s.sensors[0].first, std::string(64, 'b'));
  EXPECT_EQ(s.sensors[1], (std::pair<std::string, uint64_t>{"collector_batches_sent", 5}));
  EXPECT_EQ(s.sensors[2].first, "collector_spool_bytes");
  EXPECT_EQ(s.events.at(0), (std::pair<std::string, uint64_t>{"exec", 40}));
  EXPECT_EQ(s.watched_processes, 7u);
  EXPECT_EQ(s.kube_api_state, "watching");
  event.mutable_agent_health()->set_kube_api_state("Bad State");
  EXPECT_EQ(health_snapshot(event, 42).kube_api_state, "");  // shown as off
}

TEST(AgentHealthTable, SnapshotBoundsEntriesPerMapAndPerAgent) {
  auto event = health_event("agent-1", "host-1", 5);
  auto* health = event.mutable_agent_health();
  for (int i = 0; i < 600; ++i) (*health->mutable_agent_errors())["error_" + std::to_string(1000 + i)] = 1;
  for (int i = 0; i < 700; ++i) (*health->mutable_sensors())["sensor_" + std::to_string(1000 + i)] = 1;
  AgentHealthSnapshot s = health_snapshot(event, 1);
  // events, drops, truncations: 1 each; agent_errors: 512 of 601; sensors: the 509 left of 1024 (of 702).
  EXPECT_EQ(s.agent_errors.size(), 512u);
  EXPECT_EQ(s.agent_errors.front().first, "error_1000");
  EXPECT_EQ(s.sensors.size(), 1024u - 3 - 512);
  EXPECT_EQ(s.events.size() + s.drops.size() + s.truncations.size() + s.agent_errors.size() + s.sensors.size(), 1024u);
  EXPECT_EQ(s.left_out_over_limit, (601u - 512) + (702u - 509));
  AgentHealthLimits small;
  small.max_entries_per_map = 2;
  small.max_entries_per_agent = 3;
  AgentHealthSnapshot t = health_snapshot(event, 1, small);
  EXPECT_EQ(t.events.size() + t.drops.size() + t.truncations.size(), 3u);
  EXPECT_TRUE(t.agent_errors.empty());
  EXPECT_TRUE(t.sensors.empty());
}

TEST(AgentHealthTable, HostIsCutAtACharacterBoundary) {
  AgentHealthLimits limits;
  limits.max_host_bytes = 5;
  // "ab" then é (2 bytes) then ü (2 bytes): 5 bytes would cut ü in half, so 4 are kept.
  auto s = health_snapshot(health_event("a", "ab\xC3\xA9\xC3\xBC", 1), 1, limits);
  EXPECT_EQ(s.host, "ab\xC3\xA9");
  EXPECT_EQ(health_snapshot(health_event("a", "short", 1), 1, limits).host, "short");
}

TEST(AgentHealthTable, NewestHealthWinsAndOlderReportsChangeNothing) {
  AgentHealthTable table;
  table.update(snapshot("agent-1", 200, 20));
  table.update(snapshot("agent-1", 100, 10));  // replayed from a spool: older
  EXPECT_EQ(table.find("agent-1")->sensors[0].second, 20u);
  table.update(snapshot("agent-1", 200, 20));  // the same report twice: same state
  EXPECT_EQ(table.size(), 1u);
  table.update(snapshot("agent-1", 300, 30));
  EXPECT_EQ(table.find("agent-1")->sensors[0].second, 30u);
  EXPECT_EQ(table.find("agent-1")->time_ns, 300'000'000'000);
  EXPECT_EQ(table.evictions(), 0u);
}

TEST(AgentHealthTable, FullTableEvictsTheOldestLastHealth) {
  AgentHealthLimits limits;
  limits.max_agents = 3;
  AgentHealthTable table(limits);
  table.update(snapshot("a", 100));
  table.update(snapshot("b", 200));
  table.update(snapshot("c", 300));
  table.update(snapshot("d", 400));
  EXPECT_EQ(table.size(), 3u);
  EXPECT_EQ(table.find("a"), nullptr);
  EXPECT_EQ(table.evictions(), 1u);
  table.update(snapshot("e", 50));  // older than every agent kept: not kept
  EXPECT_EQ(table.find("e"), nullptr);
  EXPECT_EQ(table.evictions(), 2u);
  table.update(snapshot("b", 500));  // a known agent never evicts
  EXPECT_EQ(table.evictions(), 2u);
  table.update(snapshot("f", 450));  // c (300) is now the oldest
  EXPECT_EQ(table.find("c"), nullptr);
  EXPECT_NE(table.find("b"), nullptr);
  EXPECT_NE(table.find("d"), nullptr);
  EXPECT_NE(table.find("f"), nullptr);
  EXPECT_EQ(table.evictions(), 3u);
  auto series = parse_text(table.prometheus_text());
  EXPECT_EQ(find_series(series, "credtrace_collector_agent_health_evictions_total", {})->value, "3");
  EXPECT_EQ(find_series(series, "credtrace_collector_agents_tracked", {})->value, "3");
}

TEST(AgentHealthTable, LabelValuesAreEscaped) {
  EXPECT_EQ(prometheus_label_value("plain"), "plain");
  EXPECT_EQ(prometheus_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  AgentHealthTable table;
  const std::string agent_id = "agent \"x\"\\\n} 1\ncredtrace_fake 2";  // tries to end the series and add one
  const std::string host = "host\nwith\\odd\"bits";
  table.update(health_snapshot(health_event(agent_id, host, 9), 1'700'000'000'250'000'000));
  const std::string text = table.prometheus_text();
  EXPECT_EQ(text.find("\ncredtrace_fake"), std::string::npos);
  auto series = parse_text(text);
  const Series* sent = find_series(series, "credtrace_agent_sensor",
                                   {{"agent_id", agent_id}, {"host", host}, {"counter", "collector_batches_sent"}});
  ASSERT_NE(sent, nullptr) << text;
  EXPECT_EQ(sent->value, "9");
  for (const auto& s : series) EXPECT_NE(s.name, "credtrace_fake");
}

TEST(AgentHealthTable, RendersEveryFamilyOncePerAgentLabels) {
  AgentHealthTable table;
  table.update(snapshot("agent-2", 1'700'000'000));
  table.update(snapshot("agent-1", 1'700'000'001, 77));
  auto series = parse_text(table.prometheus_text());
  const std::map<std::string, std::string> one = {{"agent_id", "agent-1"}, {"host", "host-agent-1"}};
  auto value = [&](const std::string& name, std::map<std::string, std::string> labels) {
    labels.insert(one.begin(), one.end());
    const Series* s = find_series(series, name, labels);
    return s ? s->value : "missing";
  };
  EXPECT_EQ(value("credtrace_agent_kernel_events_total", {{"type", "exec"}}), "40");
  EXPECT_EQ(value("credtrace_agent_kernel_drops_total", {{"reason", "ringbuf_full"}}), "2");
  EXPECT_EQ(value("credtrace_agent_kernel_truncations_total", {{"type", "tls_data"}}), "1");
  EXPECT_EQ(value("credtrace_agent_errors_total", {{"kind", "ringbuf_poll"}}), "3");
  EXPECT_EQ(value("credtrace_agent_sensor", {{"counter", "collector_batches_sent"}}), "77");
  EXPECT_EQ(value("credtrace_agent_sensor", {{"counter", "collector_spool_bytes"}}), "4096");
  EXPECT_EQ(value("credtrace_agent_watched_processes", {}), "7");
  EXPECT_EQ(value("credtrace_agent_mcp_servers", {}), "2");
  EXPECT_EQ(value("credtrace_agent_execs_filtered_total", {}), "99");
  EXPECT_EQ(value("credtrace_agent_exec_prefilter_names", {}), "5");
  EXPECT_EQ(value("credtrace_agent_kube_api_state", {{"state", "watching"}}), "1");
  EXPECT_EQ(value("credtrace_agent_kube_api_state", {{"state", "off"}}), "0");
  EXPECT_EQ(value("credtrace_agent_uptime_seconds", {}), "12.5");
  EXPECT_EQ(value("credtrace_agent_last_health_timestamp_seconds", {}), "1700000001");
  EXPECT_EQ(find_series(series, "credtrace_agent_health_entries_left_out", {}), nullptr);  // none left out
  size_t agent_two = 0;
  for (const auto& s : series) agent_two += s.labels.count("agent_id") && s.labels.at("agent_id") == "agent-2";
  EXPECT_EQ(agent_two, 6u + 6 + 4);  // map entries, scalars, kube states
}

TEST(AgentHealthTable, LeftOutEntriesAreShownPerAgent) {
  auto event = health_event("agent-1", "host-1", 1);
  (*event.mutable_agent_health()->mutable_sensors())["Not-A-Name"] = 1;
  AgentHealthTable table;
  table.update(health_snapshot(event, 1));
  auto series = parse_text(table.prometheus_text());
  const Series* left_out = find_series(series, "credtrace_agent_health_entries_left_out", {{"reason", "name"}});
  ASSERT_NE(left_out, nullptr);
  EXPECT_EQ(left_out->value, "1");
  EXPECT_EQ(find_series(series, "credtrace_agent_sensor", {{"counter", "Not-A-Name"}}), nullptr);
}

TEST(AgentHealthTable, ConcurrentUpdatesAndRendersKeepTheNewest) {
  AgentHealthLimits limits;
  limits.max_agents = 50;
  AgentHealthTable table(limits);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&table, t] {
      for (int i = 0; i < 400; ++i)
        table.update(snapshot("agent-" + std::to_string(i % 80), 1000 + (i * 4 + t), static_cast<uint64_t>(i * 4 + t)));
    });
  threads.emplace_back([&table] {
    for (int i = 0; i < 10; ++i) parse_text(table.prometheus_text());
  });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(table.size(), 50u);
  // The newest reports were those of the last 80 values of i: agents 0..79 at times up to 1000+1599; the 50 kept
  // are the 50 with the newest health, each with its own newest report.
  for (int i = 400 - 50; i < 400; ++i) {
    auto entry = table.find("agent-" + std::to_string(i % 80));
    ASSERT_NE(entry, nullptr) << i;
    EXPECT_EQ(entry->time_ns, (1000 + i * 4 + 3) * int64_t{1'000'000'000});
    EXPECT_EQ(entry->sensors[0].second, static_cast<uint64_t>(i * 4 + 3));
  }
}

TEST(AgentHealthTable, BatchRowsCarryTheHealthOfTheBatch) {
  credtrace::v1::IngestBatch batch;
  batch.set_agent_id("agent-9");
  batch.set_sequence(1);
  auto* event = batch.add_events();
  *event = health_event("", "host-9", 4);  // agent_id filled from the batch
  event->mutable_time()->set_seconds(1'700'000'000);
  batch.add_events()->set_type("credential_use");
  BatchRows rows;
  ASSERT_TRUE(build_batch_rows(batch, 5, BatchLimits{}, rows).ok());
  ASSERT_EQ(rows.health.size(), 1u);
  EXPECT_EQ(rows.health[0].agent_id, "agent-9");
  EXPECT_EQ(rows.health[0].host, "host-9");
  EXPECT_EQ(rows.health[0].time_ns, 1'700'000'000'000'000'000);
}
