// Tests for the agent configuration: defaults, every section, and file:line:column errors for bad input.
#include "config/agent_config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include <algorithm>

namespace credtrace::config {
namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

TEST(AgentConfig, DefaultsCoverDocumentedPatterns) {
  AgentConfig cfg = default_config();
  EXPECT_EQ(cfg.output.json_path, "-");
  EXPECT_TRUE(contains(cfg.mcp.server_patterns, "@modelcontextprotocol/*"));
  EXPECT_TRUE(contains(cfg.mcp.server_patterns, "mcp-server-*"));
  EXPECT_TRUE(contains(cfg.secrets.env_name_patterns, "*API_KEY"));
  EXPECT_TRUE(contains(cfg.secrets.env_name_patterns, "AWS_*"));
  EXPECT_TRUE(contains(cfg.secrets.env_name_patterns, "*_TOKEN"));
  EXPECT_FALSE(cfg.mcp.client_patterns.empty());
  EXPECT_EQ(cfg.probes.ringbuf_bytes & (cfg.probes.ringbuf_bytes - 1), 0u);
}

TEST(AgentConfig, EmptyDocumentIsDefaults) {
  LoadResult r = load_config_text("", "empty.yaml");
  ASSERT_TRUE(r.config) << r.error;
  EXPECT_EQ(fleet_key_path(*r.config), "/var/lib/credtrace/fleet.key");
  r = load_config_text("state_dir: /srv/ct\n", "s.yaml");
  ASSERT_TRUE(r.config) << r.error;
  EXPECT_EQ(fleet_key_path(*r.config), "/srv/ct/fleet.key");
  r = load_config_text("state_dir: /srv/ct\nfingerprint:\n  key_file: /etc/credtrace/fleet.key\n", "k.yaml");
  ASSERT_TRUE(r.config) << r.error;
  EXPECT_EQ(fleet_key_path(*r.config), "/etc/credtrace/fleet.key");
}

TEST(AgentConfig, ParsesEverySection) {
  LoadResult r = load_config_text(R"(
host_name: node-7
agent_id: agt_test
health_interval_seconds: 5
output:
  json: /tmp/out.jsonl
probes:
  ringbuf_bytes: 1048576
  poll_interval_ms: 10
  wakeup_threshold_bytes: 4096
  max_captures_per_process_per_second: 2500
  max_capture_bytes_per_process_per_second: 4194304
  exec_prefilter: false
fingerprint:
  key: 00112233445566778899aabbccddeeff
mcp:
  extra_server_patterns: ["my-tool-*"]
  client_patterns: ["fake-client*"]
  config_paths: [/srv/project]
  scan_user_homes: false
  protocol_detection: true
  extra_executables: [my-tool-server]
secrets:
  extra_env_name_patterns: ["*_CREDS"]
credential_use:
  aggregation_window_seconds: 0
  max_open_windows: 10
)", "full.yaml");
  ASSERT_TRUE(r.config) << r.error;
  const AgentConfig& c = *r.config;
  EXPECT_EQ(c.host_name, "node-7");
  EXPECT_EQ(c.health_interval_seconds, 5u);
  EXPECT_EQ(c.output.json_path, "/tmp/out.jsonl");
  EXPECT_EQ(c.probes.ringbuf_bytes, 1048576u);
  EXPECT_EQ(c.probes.poll_interval_ms, 10u);
  EXPECT_EQ(c.probes.max_captures_per_process_per_second, 2500u);
  EXPECT_EQ(default_config().probes.max_captures_per_process_per_second, 50000u);
  EXPECT_EQ(c.probes.max_capture_bytes_per_process_per_second, 4194304u);
  EXPECT_EQ(default_config().probes.max_capture_bytes_per_process_per_second, 32u << 20);
  EXPECT_EQ(c.fingerprint.key, "00112233445566778899aabbccddeeff");
  EXPECT_TRUE(contains(c.mcp.server_patterns, "my-tool-*"));
  EXPECT_TRUE(contains(c.mcp.server_patterns, "@modelcontextprotocol/*"));
  EXPECT_EQ(c.mcp.client_patterns, std::vector<std::string>{"fake-client*"});
  EXPECT_FALSE(c.mcp.scan_user_homes);
  EXPECT_FALSE(c.probes.exec_prefilter);
  EXPECT_EQ(c.credential_use.aggregation_window_seconds, 0u);
  EXPECT_EQ(c.credential_use.max_open_windows, 10u);
  EXPECT_EQ(c.mcp.extra_executables, std::vector<std::string>{"my-tool-server"});
  EXPECT_TRUE(contains(c.secrets.env_name_patterns, "*_CREDS"));
  EXPECT_TRUE(contains(c.secrets.env_name_patterns, "*API_KEY"));
}

TEST(AgentConfig, TlsUprobeMode) {
  AgentConfig defaults = default_config();
  EXPECT_EQ(defaults.tls.uprobe_mode, TlsUprobeMode::per_process);
  EXPECT_EQ(defaults.tls.max_process_links, 8000u);
  EXPECT_TRUE(defaults.tls.hold_exec_until_attached);
  auto r = load_config_text("tls:\n  uprobe_mode: global\n  max_process_links: 100\n  hold_exec_until_attached: false\n",
                            "t.yaml");
  ASSERT_TRUE(r.config) << r.error;
  EXPECT_EQ(r.config->tls.uprobe_mode, TlsUprobeMode::global);
  EXPECT_EQ(r.config->tls.max_process_links, 100u);
  EXPECT_FALSE(r.config->tls.hold_exec_until_attached);
  r = load_config_text("tls:\n  uprobe_mode: per_process\n", "t.yaml");
  ASSERT_TRUE(r.config) << r.error;
  EXPECT_EQ(r.config->tls.uprobe_mode, TlsUprobeMode::per_process);
  r = load_config_text("tls:\n  uprobe_mode: everywhere\n", "t.yaml");
  ASSERT_FALSE(r.config);
  EXPECT_NE(r.error.find("t.yaml:2:16: tls.uprobe_mode: expected per_process or global"), std::string::npos) << r.error;
  r = load_config_text("tls:\n  max_process_links: 3\n", "t.yaml");
  ASSERT_FALSE(r.config);
  EXPECT_NE(r.error.find("out of range"), std::string::npos) << r.error;
  EXPECT_EQ(defaults.tls.start_attach_budget_ms, 100u);
  r = load_config_text("tls:\n  start_attach_budget_ms: 0\n", "t.yaml");
  ASSERT_TRUE(r.config) << r.error;
  EXPECT_EQ(r.config->tls.start_attach_budget_ms, 0u);
  r = load_config_text("tls:\n  start_attach_budget_ms: 60001\n", "t.yaml");
  ASSERT_FALSE(r.config);
  EXPECT_NE(r.error.find("out of range"), std::string::npos) << r.error;
}

TEST(AgentConfig, OtlpExportIsOffByDefaultAndEveryKeyReachesItsSetting) {
  AgentConfig defaults = default_config();
  EXPECT_EQ(defaults.otlp.endpoint, "");
  EXPECT_EQ(defaults.otlp.service_name, "credtrace-agent");
  auto r = load_config_text(
      "otlp:\n  endpoint: https://otel.example:4318\n  headers_file: /etc/credtrace/otlp-headers\n"
      "  ca_file: /etc/ssl/otel.pem\n  service_name: ct\n  batch_max_records: 100\n  flush_interval_ms: 250\n"
      "  max_queue_records: 2000\n  timeout_ms: 3000\n  retry_initial_ms: 200\n  retry_max_ms: 9000\n",
      "o.yaml");
  ASSERT_TRUE(r.config) << r.error;
  const OtlpConfig& o = r.config->otlp;
  EXPECT_EQ(o.endpoint, "https://otel.example:4318");
  EXPECT_EQ(o.headers_file, "/etc/credtrace/otlp-headers");
  EXPECT_EQ(o.ca_file, "/etc/ssl/otel.pem");
  EXPECT_EQ(o.service_name, "ct");
  EXPECT_EQ(o.batch_max_records, 100u);
  EXPECT_EQ(o.flush_interval_ms, 250u);
  EXPECT_EQ(o.max_queue_records, 2000u);
  EXPECT_EQ(o.timeout_ms, 3000u);
  EXPECT_EQ(o.retry_initial_ms, 200u);
  EXPECT_EQ(o.retry_max_ms, 9000u);
  r = load_config_text("otlp:\n  endpoint: otel:4317\n", "o.yaml");
  ASSERT_FALSE(r.config);
  EXPECT_NE(r.error.find("otlp.endpoint: must start with https://"), std::string::npos) << r.error;
  r = load_config_text("otlp:\n  retry_initial_ms: 5000\n  retry_max_ms: 100\n", "o.yaml");
  ASSERT_FALSE(r.config);
  EXPECT_NE(r.error.find("retry_max_ms must be at least retry_initial_ms"), std::string::npos) << r.error;
}

TEST(AgentConfig, UnknownKeyIsLocated) {
  LoadResult r = load_config_text("probes:\n  ringbuf_bytes: 1048576\n  polling: 3\n", "cfg.yaml");
  ASSERT_FALSE(r.config);
  EXPECT_EQ(r.error.rfind("cfg.yaml:3:3: unknown key 'probes.polling'", 0), 0u) << r.error;
}

TEST(AgentConfig, BadValuesAreLocated) {
  auto r = load_config_text("probes:\n  ringbuf_bytes: 1000000\n", "a.yaml");
  ASSERT_FALSE(r.config);
  EXPECT_NE(r.error.find("a.yaml:2:18:"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("power of two"), std::string::npos);

  r = load_config_text("health_interval_seconds: soon\n", "b.yaml");
  ASSERT_FALSE(r.config);
  EXPECT_NE(r.error.find("b.yaml:1:26:"), std::string::npos) << r.error;

  r = load_config_text("mcp:\n  scan_user_homes: maybe\n", "c.yaml");
  ASSERT_FALSE(r.config);
  EXPECT_NE(r.error.find("c.yaml:2:20: mcp.scan_user_homes: expected true or false"), std::string::npos) << r.error;

  r = load_config_text("mcp:\n  server_patterns: notalist\n", "d.yaml");
  ASSERT_FALSE(r.config);
  EXPECT_NE(r.error.find("d.yaml:2:20:"), std::string::npos) << r.error;

  r = load_config_text("probes:\n  max_captures_per_process_per_second: 10\n", "f.yaml");
  ASSERT_FALSE(r.config);
  EXPECT_NE(r.error.find("f.yaml:2:40: probes.max_captures_per_process_per_second: 0 (no limit) or at least 100"),
            std::string::npos) << r.error;
  ASSERT_TRUE(load_config_text("probes:\n  max_captures_per_process_per_second: 0\n", "g.yaml").config);
  r = load_config_text("probes:\n  max_capture_bytes_per_process_per_second: 4096\n", "h.yaml");
  ASSERT_FALSE(r.config);
  EXPECT_NE(r.error.find("h.yaml:2:45: probes.max_capture_bytes_per_process_per_second: 0 (no limit) or at least"),
            std::string::npos) << r.error;

  r = load_config_text("fingerprint:\n  key: short\n", "e.yaml");
  ASSERT_FALSE(r.config);
  EXPECT_NE(r.error.find("at least 16"), std::string::npos) << r.error;
}

TEST(AgentConfig, LogSection) {
  AgentConfig defaults = default_config();
  EXPECT_EQ(defaults.log.level, log::Level::info);
  EXPECT_EQ(defaults.log.format, log::Format::text);
  EXPECT_EQ(defaults.log.syslog_prefix, log::SyslogPrefix::automatic);

  LoadResult r = load_config_text("log:\n  level: debug\n  format: json\n  syslog_prefix: off\n", "log.yaml");
  ASSERT_TRUE(r.config) << r.error;
  EXPECT_EQ(r.config->log.level, log::Level::debug);
  EXPECT_EQ(r.config->log.format, log::Format::json);
  EXPECT_EQ(r.config->log.syslog_prefix, log::SyslogPrefix::off);
  r = load_config_text("log:\n  level: warning\n  syslog_prefix: true\n", "log.yaml");
  ASSERT_TRUE(r.config) << r.error;
  EXPECT_EQ(r.config->log.level, log::Level::warn);
  EXPECT_EQ(r.config->log.syslog_prefix, log::SyslogPrefix::on);

  r = load_config_text("log:\n  level: loud\n", "l.yaml");
  ASSERT_FALSE(r.config);
  EXPECT_EQ(r.error, "l.yaml:2:10: log.level: expected trace, debug, info, warn or error, got 'loud'");
  r = load_config_text("log:\n  format: xml\n", "f.yaml");
  ASSERT_FALSE(r.config);
  EXPECT_EQ(r.error, "f.yaml:2:11: log.format: expected text or json, got 'xml'");
  r = load_config_text("log:\n  syslog_prefix: sometimes\n", "p.yaml");
  ASSERT_FALSE(r.config);
  EXPECT_NE(r.error.find("p.yaml:2:18: log.syslog_prefix: expected auto, on or off"), std::string::npos) << r.error;
  r = load_config_text("log:\n  file: /var/log/x\n", "k.yaml");
  ASSERT_FALSE(r.config);
  EXPECT_EQ(r.error.rfind("k.yaml:2:3: unknown key 'log.file'", 0), 0u) << r.error;
}

TEST(AgentConfig, SecretFileAndConfigScanSettings) {
  auto r = load_config_text("secrets:\n  read_files: false\n  extra_file_patterns: [\"~/.config/acme/token\", \"!*.pub\"]\n"
                            "  max_file_bytes: 65536\n  scan_mcp_configs: false\n", "s.yaml");
  ASSERT_TRUE(r.config) << r.error;
  EXPECT_FALSE(r.config->secrets.read_files);
  EXPECT_EQ(r.config->secrets.extra_file_patterns, (std::vector<std::string>{"~/.config/acme/token", "!*.pub"}));
  EXPECT_EQ(r.config->secrets.max_file_bytes, 65536u);
  EXPECT_FALSE(r.config->secrets.scan_mcp_configs);
  auto defaults = load_config_text("", "d.yaml");
  ASSERT_TRUE(defaults.config);
  EXPECT_TRUE(defaults.config->secrets.read_files);
  EXPECT_TRUE(defaults.config->secrets.scan_mcp_configs);
  auto bad = load_config_text("secrets:\n  max_file_bytes: 0\n", "b.yaml");
  ASSERT_FALSE(bad.config);
  EXPECT_NE(bad.error.find("b.yaml:2:19: secrets.max_file_bytes"), std::string::npos) << bad.error;
}

TEST(AgentConfig, ToolCallsSection) {
  EXPECT_TRUE(default_config().mcp.tool_calls.enabled);
  EXPECT_TRUE(default_config().mcp.tool_calls.arguments_shape);
  EXPECT_EQ(default_config().mcp.tool_calls.timeout_seconds, 300u);
  LoadResult r = load_config_text(R"(mcp:
  tool_calls:
    enabled: false
    max_message_bytes: 65536
    timeout_seconds: 30
    max_pending: 64
    arguments_shape: false
)", "calls.yaml");
  ASSERT_TRUE(r.config) << r.error;
  const McpToolCallsConfig& calls = r.config->mcp.tool_calls;
  EXPECT_FALSE(calls.enabled);
  EXPECT_EQ(calls.max_message_bytes, 65536u);
  EXPECT_EQ(calls.timeout_seconds, 30u);
  EXPECT_EQ(calls.max_pending, 64u);
  EXPECT_FALSE(calls.arguments_shape);
  for (const char* bad : {"mcp:\n  tool_calls:\n    timeout_seconds: 0\n", "mcp:\n  tool_calls:\n    max_message_bytes: 12\n",
                          "mcp:\n  tool_calls:\n    enabled: maybe\n", "mcp:\n  tool_calls:\n    limit: 3\n"}) {
    LoadResult bad_result = load_config_text(bad, "bad.yaml");
    EXPECT_FALSE(bad_result.config) << bad;
    EXPECT_NE(bad_result.error.find("mcp.tool_calls."), std::string::npos) << bad_result.error;
  }
}

TEST(AgentConfig, ExtraExecutablesMustBeShortFileNames) {
  auto r = load_config_text("mcp:\n  extra_executables: [ok-name, /usr/bin/x]\n", "x.yaml");
  ASSERT_FALSE(r.config);
  EXPECT_NE(r.error.find("x.yaml:2:32: mcp.extra_executables: '/usr/bin/x' must be a file name"), std::string::npos)
      << r.error;
  r = load_config_text("mcp:\n  extra_executables: [" + std::string(32, 'a') + "]\n", "y.yaml");
  ASSERT_FALSE(r.config);
  EXPECT_NE(r.error.find("at most 31 bytes"), std::string::npos) << r.error;
}

TEST(AgentConfig, SyntaxErrorIsLocated) {
  auto r = load_config_text("output:\n  json: [unclosed\n", "s.yaml");
  ASSERT_FALSE(r.config);
  EXPECT_EQ(r.error.rfind("s.yaml:", 0), 0u);
  EXPECT_NE(r.error.find(":3:"), std::string::npos) << r.error;
}

TEST(AgentConfig, TopLevelMustBeMapping) {
  auto r = load_config_text("- a\n- b\n", "l.yaml");
  ASSERT_FALSE(r.config);
  EXPECT_NE(r.error.find("l.yaml:1:1:"), std::string::npos) << r.error;
}

TEST(AgentConfig, ShippedDefaultConfigIsValid) {
  auto r = load_config_file(std::string(CREDTRACE_FIXTURES) + "/../../packaging/config/credtrace.yaml");
  ASSERT_TRUE(r.config) << r.error;
}

// Lines of a file, "" when it cannot be read.
std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Every key of docs/configuration.md's tables ("| `a.b` |" rows; a row may name several: "`a.b`, `a.c`").
std::vector<std::string> documented_keys(const std::vector<std::string>& doc) {
  std::vector<std::string> keys;
  for (const std::string& line : doc) {
    if (line.rfind("| `", 0) != 0) continue;
    const std::string cell = line.substr(2, line.find(" |", 2) - 2);
    for (size_t open = cell.find('`'); open != std::string::npos; open = cell.find('`', cell.find('`', open + 1) + 1)) {
      const size_t close = cell.find('`', open + 1);
      if (close == std::string::npos) break;
      keys.push_back(cell.substr(open + 1, close - open - 1));
    }
  }
  return keys;
}

// Whether the sample names `key` (a.b.c): each part as "part:" (or "# part:"), each indented deeper than the one
// before and found after it, within the parent's block.
bool sample_names(const std::vector<std::string>& sample, const std::string& key) {
  size_t from = 0;
  int parent_indent = -1;
  size_t start = 0;
  while (start <= key.size()) {
    const size_t dot = key.find('.', start);
    const std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    bool found = false;
    for (size_t i = from; i < sample.size(); ++i) {
      const std::string& line = sample[i];
      const size_t text = line.find_first_not_of(" #");
      if (text == std::string::npos) continue;
      const size_t indent = line.find_first_not_of(' ');  // not npos: the line has text
      if (line[indent] != '#' && static_cast<int>(indent) <= parent_indent) break;  // the parent's block ended
      if (line.compare(text, part.size() + 1, part + ":") == 0 && static_cast<int>(text) > parent_indent) {
        parent_indent = static_cast<int>(text);
        from = i + 1;
        found = true;
        break;
      }
    }
    if (!found) return false;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return true;
}

TEST(AgentConfig, ShippedDefaultConfigNamesEveryDocumentedKey) {
  const std::string root = std::string(CREDTRACE_FIXTURES) + "/../../";
  const auto doc = lines_of(root + "docs/configuration.md");
  const auto sample = lines_of(root + "packaging/config/credtrace.yaml");
  ASSERT_FALSE(sample.empty());
  const auto keys = documented_keys(doc);
  ASSERT_GT(keys.size(), 60u) << "docs/configuration.md's tables not found";
  for (const std::string& key : keys) EXPECT_TRUE(sample_names(sample, key)) << key << " is not in the sample config";
  EXPECT_FALSE(sample_names(sample, "tls.no_such_key"));
  EXPECT_FALSE(sample_names(sample, "no_section.enabled"));
}

TEST(AgentConfig, MissingFileIsAnError) {
  auto r = load_config_file("/nonexistent/credtrace.yaml");
  ASSERT_FALSE(r.config);
  EXPECT_NE(r.error.find("cannot open"), std::string::npos);
}

}  // namespace
}  // namespace credtrace::config

namespace credtrace::config {
namespace {

TEST(AgentConfig, MetricsOffByDefaultOnLoopback) {
  AgentConfig defaults = default_config();
  EXPECT_FALSE(defaults.metrics.enabled);
  EXPECT_EQ(defaults.metrics.listen, "127.0.0.1:9464");
  auto r = load_config_text("metrics:\n  enabled: true\n  listen: 127.0.0.1:9100\n", "t.yaml");
  ASSERT_TRUE(r.config) << r.error;
  EXPECT_TRUE(r.config->metrics.enabled);
  EXPECT_EQ(r.config->metrics.listen, "127.0.0.1:9100");
  for (const char* listen : {"loopback", "localhost:9464", "1.2.3.4:abc", "127.0.0.1:0", "127.0.0.1:70000"}) {
    auto bad = load_config_text(std::string("metrics:\n  listen: ") + listen + "\n", "t.yaml");
    EXPECT_FALSE(bad.config) << listen;
    EXPECT_NE(bad.error.find("t.yaml:2:"), std::string::npos) << bad.error;
  }
}

}  // namespace
}  // namespace credtrace::config

namespace credtrace::config {
namespace {

TEST(AgentConfig, KubernetesSection) {
  AgentConfig defaults = default_config();
  EXPECT_EQ(defaults.kubernetes.api_watch, KubeApiWatch::automatic);
  EXPECT_EQ(defaults.kubernetes.token_file, "/var/run/secrets/kubernetes.io/serviceaccount/token");
  EXPECT_EQ(defaults.kubernetes.ca_file, "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt");
  EXPECT_EQ(defaults.kubernetes.log_root, "/var/log");
  auto r = load_config_text("kubernetes:\n  api_watch: on\n  node_name: node-a\n  api_server: https://10.0.0.1:6443\n"
                            "  token_file: /t\n  ca_file: /c\n  log_root: /logs\n", "k.yaml");
  ASSERT_TRUE(r.config) << r.error;
  EXPECT_EQ(r.config->kubernetes.api_watch, KubeApiWatch::on);
  EXPECT_EQ(r.config->kubernetes.node_name, "node-a");
  EXPECT_EQ(r.config->kubernetes.api_server, "https://10.0.0.1:6443");
  EXPECT_EQ(r.config->kubernetes.token_file, "/t");
  EXPECT_EQ(r.config->kubernetes.ca_file, "/c");
  EXPECT_EQ(r.config->kubernetes.log_root, "/logs");
  r = load_config_text("kubernetes:\n  api_watch: off\n", "k.yaml");
  ASSERT_TRUE(r.config) << r.error;
  EXPECT_EQ(r.config->kubernetes.api_watch, KubeApiWatch::off);

  r = load_config_text("kubernetes:\n  api_watch: sometimes\n", "k.yaml");
  ASSERT_FALSE(r.config);
  EXPECT_EQ(r.error.rfind("k.yaml:2:14: kubernetes.api_watch: expected auto, on or off", 0), 0u) << r.error;
  r = load_config_text("kubernetes:\n  api_server: http://10.0.0.1:8080\n", "k.yaml");
  ASSERT_FALSE(r.config);
  EXPECT_EQ(r.error.rfind("k.yaml:2:15: kubernetes.api_server: must start with https://", 0), 0u) << r.error;
  r = load_config_text("kubernetes:\n  nodename: x\n", "k.yaml");
  ASSERT_FALSE(r.config);
  EXPECT_EQ(r.error.rfind("k.yaml:2:3: unknown key 'kubernetes.nodename'", 0), 0u) << r.error;

  ::unsetenv("NODE_NAME");
  r = load_config_text("kubernetes:\n  api_server: https://10.0.0.1\n  api_watch: on\n", "k.yaml");
  ASSERT_FALSE(r.config);
  EXPECT_EQ(r.error.rfind("k.yaml:3:14: kubernetes.api_watch: on needs kubernetes.node_name or $NODE_NAME", 0), 0u)
      << r.error;
  ::setenv("NODE_NAME", "node-from-env", 1);
  r = load_config_text("kubernetes:\n  api_server: https://10.0.0.1\n  api_watch: on\n", "k.yaml");
  EXPECT_TRUE(r.config) << r.error;
  ::unsetenv("KUBERNETES_SERVICE_HOST");
  r = load_config_text("kubernetes:\n  api_watch: on\n", "k.yaml");
  ASSERT_FALSE(r.config);
  EXPECT_NE(r.error.find("on needs kubernetes.api_server or $KUBERNETES_SERVICE_HOST"), std::string::npos) << r.error;
  ::unsetenv("NODE_NAME");
}

}  // namespace
}  // namespace credtrace::config
