// Tests of the collector's config file: every key onto the settings, db_file, and strict located errors.
#include "config/collector_config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <unistd.h>

namespace credtrace::collector {
namespace {

TEST(CollectorConfig, EveryKeyReachesItsSetting) {
  CollectorSettings s;
  Status status = apply_config_text(
      "listen: 0.0.0.0:8787\ndb: postgres://collector@db/credtrace\ntls:\n  cert: /etc/c.pem\n  key: /etc/k.pem\n"
      "  client_ca: /etc/ca.pem\nagent_tokens_file: /etc/agents\nreader_tokens_file: /etc/readers\nretention_days: 7\n"
      "threads: 8\nsqlite_synchronous: normal\nlimits:\n  max_body_bytes: 4096\n  max_decompressed_bytes: 65536\n"
      "  max_batch_events: 500\nalerts:\n  max_age_days: 30\n  max_jwt_ttl_seconds: 3600\n  allowlist_file: /etc/allow\n",
      "collector.yaml", s);
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(s.listen, "0.0.0.0:8787");
  EXPECT_EQ(s.db, "postgres://collector@db/credtrace");
  EXPECT_EQ(s.tls_cert, "/etc/c.pem");
  EXPECT_EQ(s.tls_key, "/etc/k.pem");
  EXPECT_EQ(s.client_ca, "/etc/ca.pem");
  EXPECT_EQ(s.agent_tokens, "/etc/agents");
  EXPECT_EQ(s.reader_tokens, "/etc/readers");
  EXPECT_EQ(s.retention_days, 7);
  EXPECT_EQ(s.threads, 8u);
  EXPECT_EQ(s.sqlite_synchronous, "normal");
  EXPECT_EQ(s.max_body_bytes, 4096u);
  EXPECT_EQ(s.max_decompressed_bytes, 65536u);
  EXPECT_EQ(s.max_batch_events, 500u);
  EXPECT_EQ(s.alert_max_age_days, 30);
  EXPECT_EQ(s.alert_max_jwt_ttl_seconds, 3600);
  EXPECT_EQ(s.alert_allowlist, "/etc/allow");
}

TEST(CollectorConfig, IngestLimitsReachTheirSettings) {
  CollectorSettings s;
  Status status = apply_config_text(
      "limits:\n  max_string_bytes: 1024\n  max_repeated_entries: 100\n  max_event_bytes: 4096\n"
      "  max_clock_ahead_seconds: 60\n  max_answer_bytes: 65536\n",
      "collector.yaml", s);
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(s.event_limits.max_string_bytes, 1024u);
  EXPECT_EQ(s.event_limits.max_repeated_entries, 100u);
  EXPECT_EQ(s.event_limits.max_event_bytes, 4096u);
  EXPECT_EQ(s.event_limits.max_ahead_seconds, 60);
  EXPECT_EQ(s.max_answer_bytes, 65536u);
  EXPECT_FALSE(apply_config_text("limits:\n  max_string_bytes: 10\n", "c.yaml", s).ok());
}

TEST(CollectorConfig, ConnectionLimitsReachTheirSettings) {
  CollectorSettings s;
  Status status = apply_config_text(
      "connections:\n  max: 500\n  max_per_address: 100\n  max_unauthenticated_per_address: 10\n"
      "  header_timeout_seconds: 5\n  request_timeout_seconds: 20\n  idle_timeout_seconds: 15\n"
      "  max_buffered_body_bytes: 33554432\n",
      "collector.yaml", s);
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(s.connections.max_connections, 500u);
  EXPECT_EQ(s.connections.max_per_address, 100u);
  EXPECT_EQ(s.connections.max_unauthenticated_per_address, 10u);
  EXPECT_EQ(s.connections.header_timeout, std::chrono::seconds(5));
  EXPECT_EQ(s.connections.request_timeout, std::chrono::seconds(20));
  EXPECT_EQ(s.connections.idle_timeout, std::chrono::seconds(15));
  EXPECT_EQ(s.connections.max_buffered_body_bytes, 33554432u);
  status = apply_config_text("connections:\n  header_timeout_seconds: 0\n", "c.yaml", s);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("c.yaml:2:27: connections.header_timeout_seconds: 0 is out of range"),
            std::string::npos) << status.message();
  EXPECT_EQ(s.connections.header_timeout, std::chrono::seconds(5));  // nothing applied
}

TEST(CollectorConfig, WebUiKeysReachTheirSettings) {
  CollectorSettings s;
  EXPECT_FALSE(s.ui);  // off unless enabled
  Status status = apply_config_text(
      "ui:\n  enabled: true\n  session_idle_minutes: 15\n  session_max_hours: 8\n  max_sessions: 50\n", "c.yaml", s);
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_TRUE(s.ui);
  EXPECT_EQ(s.ui_session_idle_minutes, 15);
  EXPECT_EQ(s.ui_session_max_hours, 8);
  EXPECT_EQ(s.ui_max_sessions, 50u);
  status = apply_config_text("ui:\n  enabled: yes\n", "c.yaml", s);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("c.yaml:2:12: ui.enabled: expected true or false, got 'yes'"), std::string::npos)
      << status.message();
  status = apply_config_text("ui:\n  theme: dark\n", "c.yaml", s);
  EXPECT_NE(status.message().find("unknown key 'ui.theme'"), std::string::npos) << status.message();
}

TEST(CollectorConfig, AnEmptyFileKeepsTheDefaults) {
  CollectorSettings s;
  ASSERT_TRUE(apply_config_text("", "c.yaml", s).ok());
  EXPECT_EQ(s.listen, CollectorSettings{}.listen);
  EXPECT_EQ(s.db, CollectorSettings{}.db);
}

TEST(CollectorConfig, DbFileHoldsTheUriAndItIsNeverShown) {
  char path[] = "/tmp/collector-db-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string uri = "postgres://collector:Vq9sXw2LmP4tRz8K@db.internal/credtrace";
  ASSERT_EQ(write(fd, (uri + "\n").data(), uri.size() + 1), static_cast<ssize_t>(uri.size() + 1));
  close(fd);
  CollectorSettings s;
  ASSERT_TRUE(apply_config_text(std::string("db_file: ") + path + "\n", "c.yaml", s).ok());
  EXPECT_EQ(s.db, uri);
  Status both = apply_config_text(std::string("db: sqlite:/x.db\ndb_file: ") + path + "\n", "c.yaml", s);
  EXPECT_EQ(both.message(), "c.yaml:2:10: db_file: give db or db_file, not both");
  std::remove(path);
  Status missing = apply_config_text(std::string("db_file: ") + path + "\n", "c.yaml", s);
  EXPECT_NE(missing.message().find("c.yaml:1:10: db_file: cannot read"), std::string::npos) << missing.message();
}

TEST(CollectorConfig, ErrorsAreLocatedAndNothingIsApplied) {
  CollectorSettings s;
  Status unknown = apply_config_text("listen: 127.0.0.1:9000\ntls:\n  certificate: /x\n", "c.yaml", s);
  EXPECT_EQ(unknown.message().rfind("c.yaml:3:3: unknown key 'tls.certificate' (allowed: cert, client_ca, key)", 0), 0u)
      << unknown.message();
  EXPECT_EQ(s.listen, CollectorSettings{}.listen);  // refused whole
  EXPECT_EQ(apply_config_text("threads: 0\n", "c.yaml", s).message(), "c.yaml:1:10: threads: 0 is out of range [1, 256]");
  EXPECT_EQ(apply_config_text("retention_days: soon\n", "c.yaml", s).message(),
            "c.yaml:1:17: retention_days: expected an integer, got 'soon'");
  EXPECT_EQ(apply_config_text("db: mysql://x\n", "c.yaml", s).message(), "c.yaml:1:5: db: expected sqlite:PATH or postgres://...");
  EXPECT_EQ(apply_config_text("sqlite_synchronous: off\n", "c.yaml", s).message(),
            "c.yaml:1:21: sqlite_synchronous: expected full or normal");
  EXPECT_NE(apply_config_text("listen: [\n", "c.yaml", s).message().find("c.yaml:"), std::string::npos);
}

}  // namespace
}  // namespace credtrace::collector
