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
  EXPECT_EQ(plan.applied, (std::vector<std::string>{"health_interval_seconds", "log.level"}));
  EXPECT_EQ(plan.needs_restart, (std::vector<std::string>{"probes.ringbuf_bytes", "secrets.env_name_patterns"}));
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

}  // namespace
}  // namespace credtrace::config
