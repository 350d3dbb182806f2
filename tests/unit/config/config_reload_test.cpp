// Tests of reload planning: which changed keys apply now, which need a restart, and an invalid file refused whole.
#include "config/config_reload.h"

#include <gtest/gtest.h>

namespace credtrace::config {
namespace {

constexpr const char* kRunning = "health_interval_seconds: 60\nlog:\n  level: info\nprobes:\n  ringbuf_bytes: 8388608\n"
                                 "secrets:\n  env_name_patterns: [\"*TOKEN*\"]\n";

TEST(ConfigReload, ReloadableKeysApplyOthersNeedARestart) {
  const std::string next = "health_interval_seconds: 5\nlog:\n  level: debug\nprobes:\n  ringbuf_bytes: 16777216\n"
                           "secrets:\n  env_name_patterns: [\"*TOKEN*\", \"*KEY*\"]\n";
  ReloadPlan plan = plan_reload(kRunning, next, "agent.yaml");
  ASSERT_TRUE(plan.config) << plan.error;
  EXPECT_EQ(plan.applied, (std::vector<std::string>{"health_interval_seconds", "log.level", "secrets.env_name_patterns"}));
  EXPECT_EQ(plan.needs_restart, (std::vector<std::string>{"probes.ringbuf_bytes"}));
  EXPECT_EQ(plan.config->health_interval_seconds, 5u);
}

TEST(ConfigReload, AnUnchangedFileChangesNothingAndARemovedKeyCounts) {
  ReloadPlan same = plan_reload(kRunning, kRunning, "agent.yaml");
  ASSERT_TRUE(same.config);
  EXPECT_TRUE(same.applied.empty());
  EXPECT_TRUE(same.needs_restart.empty());
  ReloadPlan removed = plan_reload(kRunning, "log:\n  level: info\nprobes:\n  ringbuf_bytes: 8388608\n"
                                             "secrets:\n  env_name_patterns: [\"*TOKEN*\"]\n", "agent.yaml");
  ASSERT_TRUE(removed.config);
  EXPECT_EQ(removed.applied, (std::vector<std::string>{"health_interval_seconds"}));  // back to its default
}

TEST(ConfigReload, AnInvalidFileIsRefusedWholeWithItsLocation) {
  ReloadPlan plan = plan_reload(kRunning, "health_interval_seconds: 5\nlog:\n  level: loud\n", "agent.yaml");
  EXPECT_FALSE(plan.config);
  EXPECT_NE(plan.error.find("agent.yaml:3:"), std::string::npos) << plan.error;
  EXPECT_TRUE(plan.applied.empty());
}

TEST(ConfigReload, EveryReloadableKeyCopiesItsValueAndNothingElse) {
  const std::string next_text =
      "health_interval_seconds: 7\nprobes:\n  poll_interval_ms: 50\n  ringbuf_bytes: 16777216\noutput:\n  json: /tmp/x.jsonl\n"
      "mcp:\n  extra_server_patterns: [\"acme-tool*\"]\n  extra_client_patterns: [\"my-agent\"]\n"
      "  extra_executables: [\"acme-tool\"]\nsecrets:\n  extra_env_name_patterns: [\"ACME_*\"]\n"
      "  env_name_excludes: [\"ACME_REGION\"]\n  extra_file_patterns: [\"~/.acme/creds\"]\n  max_file_bytes: 4096\n"
      "credential_use:\n  aggregation_window_seconds: 5\ncollector:\n  url: https://collector.example:8787\n"
      "  flush_interval_ms: 200\n  retry_max_ms: 1000\nlog:\n  level: debug\n";
  LoadResult next = load_config_text(next_text, "next.yaml");
  ASSERT_TRUE(next.config) << next.error;
  AgentConfig running = default_config();
  ReloadPlan plan = plan_reload("", next_text, "next.yaml");
  ASSERT_TRUE(plan.config) << plan.error;
  EXPECT_EQ(plan.needs_restart, (std::vector<std::string>{"probes.ringbuf_bytes"}));
  for (const auto& key : plan.applied) EXPECT_TRUE(copy_reloadable_key(key, *next.config, running)) << key;
  EXPECT_EQ(running.health_interval_seconds, 7u);
  EXPECT_EQ(running.probes.poll_interval_ms, 50u);
  EXPECT_EQ(running.probes.ringbuf_bytes, default_config().probes.ringbuf_bytes);  // not reloadable: kept
  EXPECT_EQ(running.output.json_path, "/tmp/x.jsonl");
  EXPECT_EQ(running.mcp.server_patterns, next.config->mcp.server_patterns);
  EXPECT_EQ(running.mcp.server_patterns.back(), "acme-tool*");
  EXPECT_EQ(running.mcp.client_patterns.back(), "my-agent");
  EXPECT_EQ(running.mcp.extra_executables, std::vector<std::string>{"acme-tool"});
  EXPECT_EQ(running.secrets.env_name_patterns.back(), "ACME_*");
  EXPECT_EQ(running.secrets.env_name_excludes, std::vector<std::string>{"ACME_REGION"});
  EXPECT_EQ(running.secrets.extra_file_patterns, std::vector<std::string>{"~/.acme/creds"});
  EXPECT_EQ(running.secrets.max_file_bytes, 4096u);
  EXPECT_EQ(running.credential_use.aggregation_window_seconds, 5u);
  EXPECT_EQ(running.collector.url, "https://collector.example:8787");
  EXPECT_EQ(running.collector.flush_interval_ms, 200u);
  EXPECT_EQ(running.collector.retry_max_ms, 1000u);
  EXPECT_EQ(running.log.level, log::Level::debug);
  EXPECT_FALSE(copy_reloadable_key("probes.ringbuf_bytes", *next.config, running));
  EXPECT_FALSE(copy_reloadable_key("state_dir", *next.config, running));
}

}  // namespace
}  // namespace credtrace::config
