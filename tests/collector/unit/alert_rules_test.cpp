// Unit tests of the alert rules (one per rule) and the destination allow-list.
#include <gtest/gtest.h>

#include "alerts/alert_allowlist.h"
#include "alerts/alert_rules.h"

using namespace credtrace::collector;

namespace {

EventRow use(const std::string& host, bool tls, const std::string& ip = "") {
  EventRow row;
  row.type = "credential_use";
  row.time_ns = 5'000'000'000;
  row.workload_id = "wl-1";
  row.fingerprint = std::string(64, 'a');
  row.facts.credential_type = "github_pat";
  row.facts.has_destination = true;
  row.facts.dest_host = host;
  row.facts.dest_ip = ip;
  row.facts.dest_port = tls ? 443 : 80;
  row.facts.dest_tls = tls;
  return row;
}

std::vector<std::string> kinds(const std::vector<AlertHit>& hits) {
  std::vector<std::string> out;
  for (const auto& h : hits) out.push_back(h.kind);
  return out;
}

AlertConfig with_allowlist(const std::string& yaml) {
  AlertConfig config;
  Status s = parse_allowlist(yaml, config.allowlist);
  EXPECT_TRUE(s.ok()) << s.message();
  return config;
}

}  // namespace

TEST(AlertRules, PlainHttpOffLoopbackOnly) {
  AlertConfig config;
  auto hits = event_alerts(use("api.example.com", false), 3, config);
  ASSERT_EQ(kinds(hits), std::vector<std::string>{kAlertPlainHttp});
  EXPECT_EQ(hits[0].subject, "api.example.com:80");
  EXPECT_EQ(hits[0].event, 3u);
  EXPECT_NE(hits[0].detail.find("\"tls\":false"), std::string::npos);
  EXPECT_TRUE(event_alerts(use("api.example.com", true), 0, config).empty());
  EXPECT_TRUE(event_alerts(use("localhost", false), 0, config).empty());
  EXPECT_TRUE(event_alerts(use("api.localhost", false), 0, config).empty());
  EXPECT_TRUE(event_alerts(use("", false, "127.0.0.5"), 0, config).empty());
  EXPECT_TRUE(event_alerts(use("proxied.example", false, "::1"), 0, config).empty());  // the IP decides
  EXPECT_EQ(kinds(event_alerts(use("", false, "10.1.2.3"), 0, config)), std::vector<std::string>{kAlertPlainHttp});
  EXPECT_EQ(kinds(event_alerts(use("localhost", false, "192.0.2.1"), 0, config)), std::vector<std::string>{kAlertPlainHttp});
  EventRow no_fingerprint = use("api.example.com", false);
  no_fingerprint.fingerprint.clear();
  EXPECT_TRUE(event_alerts(no_fingerprint, 0, config).empty());
}

TEST(AlertRules, LoopbackDestinations) {
  EXPECT_TRUE(is_loopback_destination("LOCALHOST.", ""));
  EXPECT_TRUE(is_loopback_destination("localhost:8080", ""));
  EXPECT_TRUE(is_loopback_destination("127.0.0.1", ""));
  EXPECT_TRUE(is_loopback_destination("", "[::1]"));
  EXPECT_TRUE(is_loopback_destination("", "::ffff:127.0.0.1"));
  EXPECT_FALSE(is_loopback_destination("localhost.example.com", ""));
  EXPECT_FALSE(is_loopback_destination("", "128.0.0.1"));
}

TEST(AlertRules, JwtTtlAboveLimit) {
  AlertConfig config;
  config.max_jwt_ttl_seconds = 3600;
  EventRow row = use("api.example.com", true);
  row.facts.jwt = true;
  row.facts.jwt_ttl_seconds = 7200;
  auto hits = event_alerts(row, 0, config);
  ASSERT_EQ(kinds(hits), std::vector<std::string>{kAlertLongLivedJwt});
  EXPECT_NE(hits[0].detail.find("\"ttl_seconds\":7200"), std::string::npos);
  row.facts.jwt_ttl_seconds = 3600;
  EXPECT_TRUE(event_alerts(row, 0, config).empty());
  row.facts.jwt_ttl_seconds = 1'000'000;
  config.max_jwt_ttl_seconds = 0;  // off
  EXPECT_TRUE(event_alerts(row, 0, config).empty());
}

TEST(AlertRules, HardCodedInConfig) {
  AlertConfig config;
  EventRow exposure;
  exposure.type = "config_exposure";
  exposure.fingerprint = std::string(64, 'b');
  exposure.facts.config_path = "/home/u/.cursor/mcp.json";
  auto hits = event_alerts(exposure, 0, config);
  ASSERT_EQ(kinds(hits), std::vector<std::string>{kAlertHardCoded});
  EXPECT_EQ(hits[0].subject, "/home/u/.cursor/mcp.json");
  EventRow secret;
  secret.type = "secret_exposure";
  secret.fingerprint = std::string(64, 'c');
  EXPECT_TRUE(event_alerts(secret, 0, config).empty());  // from env: not hard-coded
  secret.facts.config_source = true;
  EXPECT_EQ(kinds(event_alerts(secret, 0, config)), std::vector<std::string>{kAlertHardCoded});
  exposure.fingerprint.clear();  // a ${VAR} reference carries no credential
  EXPECT_TRUE(event_alerts(exposure, 0, config).empty());
}

TEST(AlertRules, LongLivedStatic) {
  AlertConfig config;
  config.max_age_ns = 10 * 86400 * 1'000'000'000LL;
  int64_t first = 1'000'000'000'000'000'000;
  EXPECT_FALSE(is_long_lived(first, first + 9 * 86400 * 1'000'000'000LL, config));
  EXPECT_TRUE(is_long_lived(first, first + 11 * 86400 * 1'000'000'000LL, config));
  config.max_age_ns = 0;
  EXPECT_FALSE(is_long_lived(first, first + 1000 * 86400 * 1'000'000'000LL, config));
}

TEST(AlertRules, DestinationOutsideAllowlist) {
  AlertConfig config = with_allowlist(R"(
credential_types:
  github_pat: [api.github.com, "*.githubusercontent.com"]
workloads:
  wl-2: ["*.internal"]
)");
  EXPECT_TRUE(event_alerts(use("api.github.com", true), 0, config).empty());
  EXPECT_TRUE(event_alerts(use("raw.githubusercontent.com", true), 0, config).empty());
  auto hits = event_alerts(use("evil.example", true), 0, config);
  ASSERT_EQ(kinds(hits), std::vector<std::string>{kAlertNotAllowed});
  EXPECT_EQ(hits[0].subject, "wl-1 evil.example");
  EXPECT_NE(hits[0].detail.find("credential_type"), std::string::npos);
  EventRow other = use("api.github.com", true);
  other.workload_id = "wl-2";  // type allows it, the workload's list does not
  hits = event_alerts(other, 0, config);
  ASSERT_EQ(kinds(hits), std::vector<std::string>{kAlertNotAllowed});
  EXPECT_NE(hits[0].detail.find("\"denied_by\":[\"workload\"]"), std::string::npos);
  EventRow untyped = use("anything.example", true);
  untyped.facts.credential_type = "openai";  // no list for openai or wl-1
  EXPECT_TRUE(event_alerts(untyped, 0, config).empty());
}

TEST(AlertRules, AllowlistNamesAWorkloadByItsHumanNames) {
  AlertConfig config = with_allowlist(R"(
workloads:
  payments-mcp: ["api.stripe.com"]
  payments.service: ["*.internal"]
  prod/notes-7f9c: ["notes.example"]
)");
  EventRow payments = use("api.stripe.com", true);
  payments.facts.workload_names = {"payments-mcp", "payments.service"};
  EXPECT_TRUE(event_alerts(payments, 0, config).empty());  // the server name's list allows it
  payments.facts.dest_host = "db.internal";
  EXPECT_TRUE(event_alerts(payments, 0, config).empty());  // so does the unit's: every list naming it applies
  payments.facts.dest_host = "evil.example";
  auto hits = event_alerts(payments, 0, config);
  ASSERT_EQ(kinds(hits), std::vector<std::string>{kAlertNotAllowed});
  EXPECT_NE(hits[0].detail.find("\"denied_by\":[\"workload\"]"), std::string::npos);
  EventRow pod = use("evil.example", true);
  pod.facts.workload_names = {"notes", "prod/notes-7f9c", "notes-7f9c"};
  EXPECT_EQ(kinds(event_alerts(pod, 0, config)), std::vector<std::string>{kAlertNotAllowed});
  pod.facts.dest_host = "notes.example";
  EXPECT_TRUE(event_alerts(pod, 0, config).empty());
  EventRow unnamed = use("evil.example", true);  // no list names it: nothing to deny
  unnamed.facts.workload_names = {"other-mcp"};
  EXPECT_TRUE(event_alerts(unnamed, 0, config).empty());
}

TEST(Allowlist, ParsesYamlAndJsonAndRejectsMistakes) {
  Allowlist list;
  ASSERT_TRUE(parse_allowlist(R"({"credential_types": {"openai": ["API.OpenAI.com"]}})", list).ok());
  EXPECT_FALSE(check_allowlist(list, "openai", "wl", "api.openai.com.").denied());
  EXPECT_FALSE(check_allowlist(list, "openai", "wl", "api.openai.com:443").denied());
  EXPECT_TRUE(check_allowlist(list, "openai", "wl", "api.openai.com.evil.example").type_denied);
  EXPECT_FALSE(parse_allowlist("types: {a: [b]}", list).ok());
  EXPECT_FALSE(parse_allowlist("workloads: {wl: host}", list).ok());
  EXPECT_FALSE(parse_allowlist("workloads: [", list).ok());
  EXPECT_FALSE(parse_allowlist("- a", list).ok());
  EXPECT_TRUE(parse_allowlist("", list).ok());
  EXPECT_TRUE(list.empty());
}
