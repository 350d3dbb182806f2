// Agent configuration: parses the YAML schema strictly (unknown keys and bad values are errors) onto defaults.
#include "config/agent_config.h"

#include <arpa/inet.h>

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "mcp/launch_patterns.h"
#include "secrets/env_names.h"

namespace credtrace::config {
namespace {

// Thrown only inside this file, caught in load_config_text.
struct ConfigError {
  YAML::Mark mark;
  std::string message;
};

[[noreturn]] void fail(const YAML::Node& node, const std::string& message) { throw ConfigError{node.Mark(), message}; }

std::string read_string(const YAML::Node& node, const std::string& key) {
  if (!node.IsScalar()) fail(node, key + ": expected a string");
  return node.Scalar();
}

bool read_bool(const YAML::Node& node, const std::string& key) {
  bool value = false;
  if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) fail(node, key + ": expected true or false");
  return value;
}

uint32_t read_u32(const YAML::Node& node, const std::string& key, uint64_t min, uint64_t max) {
  if (!node.IsScalar()) fail(node, key + ": expected a number");
  const std::string& text = node.Scalar();
  size_t used = 0;
  unsigned long long value = 0;
  try {
    value = std::stoull(text, &used, 0);
  } catch (...) {
    used = 0;
  }
  if (used == 0 || used != text.size() || text[0] == '-') fail(node, key + ": expected a non-negative integer, got '" + text + "'");
  if (value < min || value > max)
    fail(node, key + ": " + text + " is out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  return static_cast<uint32_t>(value);
}

std::vector<std::string> read_string_list(const YAML::Node& node, const std::string& key) {
  if (!node.IsSequence()) fail(node, key + ": expected a list of strings");
  std::vector<std::string> out;
  for (const auto& item : node) {
    if (!item.IsScalar() || item.Scalar().empty()) fail(item, key + ": every entry must be a non-empty string");
    out.push_back(item.Scalar());
  }
  return out;
}

using FieldSetters = std::map<std::string, std::function<void(const YAML::Node&)>>;

// Applies each key of a mapping through its setter; unknown keys are errors naming the allowed ones.
void apply_mapping(const YAML::Node& node, const std::string& section, const FieldSetters& setters) {
  if (node.IsNull()) return;
  if (!node.IsMap()) fail(node, section + ": expected a mapping");
  for (const auto& entry : node) {
    const std::string key = entry.first.as<std::string>();
    auto it = setters.find(key);
    if (it == setters.end()) {
      std::string allowed;
      for (const auto& [name, _] : setters) allowed += (allowed.empty() ? "" : ", ") + name;
      fail(entry.first, "unknown key '" + (section.empty() ? key : section + "." + key) + "' (allowed: " + allowed + ")");
    }
    it->second(entry.second);
  }
}

bool is_power_of_two(uint32_t v) { return v && !(v & (v - 1)); }

void apply_probes(const YAML::Node& node, ProbeConfig& probes) {
  apply_mapping(node, "probes", {
      {"ringbuf_bytes", [&](const YAML::Node& n) {
         probes.ringbuf_bytes = read_u32(n, "probes.ringbuf_bytes", 64u << 10, 1u << 30);
         if (!is_power_of_two(probes.ringbuf_bytes)) fail(n, "probes.ringbuf_bytes: must be a power of two");
       }},
      {"poll_interval_ms", [&](const YAML::Node& n) { probes.poll_interval_ms = read_u32(n, "probes.poll_interval_ms", 1, 1000); }},
      {"exec_prefilter", [&](const YAML::Node& n) { probes.exec_prefilter = read_bool(n, "probes.exec_prefilter"); }},
      {"wakeup_threshold_bytes", [&](const YAML::Node& n) {
         probes.wakeup_threshold_bytes = read_u32(n, "probes.wakeup_threshold_bytes", 0, 1u << 30);
       }},
      {"max_captures_per_process_per_second", [&](const YAML::Node& n) {
         probes.max_captures_per_process_per_second =
             read_u32(n, "probes.max_captures_per_process_per_second", 0, 100000000);
         if (probes.max_captures_per_process_per_second > 0 && probes.max_captures_per_process_per_second < 100)
           fail(n, "probes.max_captures_per_process_per_second: 0 (no limit) or at least 100");
       }},
      {"max_capture_bytes_per_process_per_second", [&](const YAML::Node& n) {
         probes.max_capture_bytes_per_process_per_second =
             read_u32(n, "probes.max_capture_bytes_per_process_per_second", 0, 1u << 31);
         if (probes.max_capture_bytes_per_process_per_second > 0 &&
             probes.max_capture_bytes_per_process_per_second < (1u << 20))
           fail(n, "probes.max_capture_bytes_per_process_per_second: 0 (no limit) or at least 1048576 (1 MiB)");
       }},
  });
}

void apply_tool_calls(const YAML::Node& node, McpToolCallsConfig& calls) {
  apply_mapping(node, "mcp.tool_calls", {
      {"enabled", [&](const YAML::Node& n) { calls.enabled = read_bool(n, "mcp.tool_calls.enabled"); }},
      {"max_message_bytes", [&](const YAML::Node& n) {
         calls.max_message_bytes = read_u32(n, "mcp.tool_calls.max_message_bytes", 4096, 64u << 20);
       }},
      {"timeout_seconds", [&](const YAML::Node& n) {
         calls.timeout_seconds = read_u32(n, "mcp.tool_calls.timeout_seconds", 1, 86400);
       }},
      {"max_pending", [&](const YAML::Node& n) { calls.max_pending = read_u32(n, "mcp.tool_calls.max_pending", 1, 65536); }},
      {"arguments_shape", [&](const YAML::Node& n) {
         calls.arguments_shape = read_bool(n, "mcp.tool_calls.arguments_shape");
       }},
  });
}

void apply_mcp(const YAML::Node& node, McpConfig& mcp) {
  apply_mapping(node, "mcp", {
      {"tool_calls", [&](const YAML::Node& n) { apply_tool_calls(n, mcp.tool_calls); }},
      {"server_patterns", [&](const YAML::Node& n) { mcp.server_patterns = read_string_list(n, "mcp.server_patterns"); }},
      {"extra_server_patterns", [&](const YAML::Node& n) {
         for (auto& p : read_string_list(n, "mcp.extra_server_patterns")) mcp.server_patterns.push_back(p);
       }},
      {"client_patterns", [&](const YAML::Node& n) { mcp.client_patterns = read_string_list(n, "mcp.client_patterns"); }},
      {"extra_client_patterns", [&](const YAML::Node& n) {
         for (auto& p : read_string_list(n, "mcp.extra_client_patterns")) mcp.client_patterns.push_back(p);
       }},
      {"config_paths", [&](const YAML::Node& n) { mcp.config_paths = read_string_list(n, "mcp.config_paths"); }},
      {"scan_user_homes", [&](const YAML::Node& n) { mcp.scan_user_homes = read_bool(n, "mcp.scan_user_homes"); }},
      {"passwd_file", [&](const YAML::Node& n) { mcp.passwd_file = read_string(n, "mcp.passwd_file"); }},
      {"protocol_detection", [&](const YAML::Node& n) { mcp.protocol_detection = read_bool(n, "mcp.protocol_detection"); }},
      {"extra_executables", [&](const YAML::Node& n) {
         mcp.extra_executables = read_string_list(n, "mcp.extra_executables");
         for (size_t i = 0; i < mcp.extra_executables.size(); ++i) {
           const std::string& name = mcp.extra_executables[i];
           if (name.size() > 31 || name.find('/') != std::string::npos)
             fail(n[i], "mcp.extra_executables: '" + name + "' must be a file name (no '/') of at most 31 bytes");
         }
       }},
  });
}

void apply_secrets(const YAML::Node& node, SecretsConfig& secrets) {
  apply_mapping(node, "secrets", {
      {"env_name_patterns", [&](const YAML::Node& n) { secrets.env_name_patterns = read_string_list(n, "secrets.env_name_patterns"); }},
      {"extra_env_name_patterns", [&](const YAML::Node& n) {
         for (auto& p : read_string_list(n, "secrets.extra_env_name_patterns")) secrets.env_name_patterns.push_back(p);
       }},
      {"env_name_excludes", [&](const YAML::Node& n) { secrets.env_name_excludes = read_string_list(n, "secrets.env_name_excludes"); }},
      {"read_files", [&](const YAML::Node& n) { secrets.read_files = read_bool(n, "secrets.read_files"); }},
      {"extra_file_patterns", [&](const YAML::Node& n) {
         secrets.extra_file_patterns = read_string_list(n, "secrets.extra_file_patterns");
       }},
      {"max_file_bytes", [&](const YAML::Node& n) {
         secrets.max_file_bytes = read_u32(n, "secrets.max_file_bytes", 1, 64u << 20);
       }},
      {"scan_mcp_configs", [&](const YAML::Node& n) { secrets.scan_mcp_configs = read_bool(n, "secrets.scan_mcp_configs"); }},
  });
}

void apply_collector(const YAML::Node& node, CollectorConfig& c) {
  apply_mapping(node, "collector", {
      {"url", [&](const YAML::Node& n) {
         c.url = read_string(n, "collector.url");
         if (c.url.rfind("https://", 0) != 0 && c.url.rfind("http://", 0) != 0)
           fail(n, "collector.url: must start with https:// (or http:// to loopback)");
       }},
      {"token_file", [&](const YAML::Node& n) { c.token_file = read_string(n, "collector.token_file"); }},
      {"ca_file", [&](const YAML::Node& n) { c.ca_file = read_string(n, "collector.ca_file"); }},
      {"cert_file", [&](const YAML::Node& n) { c.cert_file = read_string(n, "collector.cert_file"); }},
      {"key_file", [&](const YAML::Node& n) { c.key_file = read_string(n, "collector.key_file"); }},
      {"batch_max_events", [&](const YAML::Node& n) { c.batch_max_events = read_u32(n, "collector.batch_max_events", 1, 100000); }},
      {"batch_max_bytes", [&](const YAML::Node& n) {
         c.batch_max_bytes = read_u32(n, "collector.batch_max_bytes", 1024, 32u << 20);
       }},
      {"flush_interval_ms", [&](const YAML::Node& n) { c.flush_interval_ms = read_u32(n, "collector.flush_interval_ms", 1, 600000); }},
      {"spool_dir", [&](const YAML::Node& n) { c.spool_dir = read_string(n, "collector.spool_dir"); }},
      {"spool_max_bytes", [&](const YAML::Node& n) {
         c.spool_max_bytes = read_u32(n, "collector.spool_max_bytes", 64u << 10, 0xffffffffu);
       }},
      {"retry_initial_ms", [&](const YAML::Node& n) { c.retry_initial_ms = read_u32(n, "collector.retry_initial_ms", 1, 600000); }},
      {"retry_max_ms", [&](const YAML::Node& n) { c.retry_max_ms = read_u32(n, "collector.retry_max_ms", 1, 3600000); }},
  });
  if (c.cert_file.empty() != c.key_file.empty()) fail(node, "collector: cert_file and key_file must be given together");
  if (c.retry_max_ms < c.retry_initial_ms) fail(node, "collector: retry_max_ms must be at least retry_initial_ms");
}

void apply_otlp(const YAML::Node& node, OtlpConfig& o) {
  apply_mapping(node, "otlp", {
      {"endpoint", [&](const YAML::Node& n) {
         o.endpoint = read_string(n, "otlp.endpoint");
         if (o.endpoint.rfind("https://", 0) != 0 && o.endpoint.rfind("http://", 0) != 0)
           fail(n, "otlp.endpoint: must start with https:// (or http:// to loopback)");
       }},
      {"headers_file", [&](const YAML::Node& n) { o.headers_file = read_string(n, "otlp.headers_file"); }},
      {"ca_file", [&](const YAML::Node& n) { o.ca_file = read_string(n, "otlp.ca_file"); }},
      {"service_name", [&](const YAML::Node& n) { o.service_name = read_string(n, "otlp.service_name"); }},
      {"batch_max_records", [&](const YAML::Node& n) { o.batch_max_records = read_u32(n, "otlp.batch_max_records", 1, 100000); }},
      {"flush_interval_ms", [&](const YAML::Node& n) { o.flush_interval_ms = read_u32(n, "otlp.flush_interval_ms", 1, 600000); }},
      {"max_queue_records", [&](const YAML::Node& n) { o.max_queue_records = read_u32(n, "otlp.max_queue_records", 1, 10000000); }},
      {"timeout_ms", [&](const YAML::Node& n) { o.timeout_ms = read_u32(n, "otlp.timeout_ms", 1, 600000); }},
      {"retry_initial_ms", [&](const YAML::Node& n) { o.retry_initial_ms = read_u32(n, "otlp.retry_initial_ms", 1, 600000); }},
      {"retry_max_ms", [&](const YAML::Node& n) { o.retry_max_ms = read_u32(n, "otlp.retry_max_ms", 1, 3600000); }},
  });
  if (o.retry_max_ms < o.retry_initial_ms) fail(node, "otlp: retry_max_ms must be at least retry_initial_ms");
}

// A scalar that `parse` understands, else an error listing `expected`.
template <typename Parse>
auto read_named(const YAML::Node& node, const std::string& key, Parse parse, const std::string& expected) {
  const std::string text = read_string(node, key);
  auto value = parse(text);
  if (!value) fail(node, key + ": expected " + expected + ", got '" + text + "'");
  return *value;
}

void apply_log(const YAML::Node& node, LogConfig& out) {
  apply_mapping(node, "log", {
      {"level", [&](const YAML::Node& n) {
         out.level = read_named(n, "log.level", log::parse_level, "trace, debug, info, warn or error");
       }},
      {"format", [&](const YAML::Node& n) { out.format = read_named(n, "log.format", log::parse_format, "text or json"); }},
      {"syslog_prefix", [&](const YAML::Node& n) {
         out.syslog_prefix = read_named(n, "log.syslog_prefix", log::parse_syslog_prefix, "auto, on or off");
       }},
  });
}

void apply_tls(const YAML::Node& node, TlsConfig& tls) {
  apply_mapping(node, "tls", {
      {"uprobe_mode", [&](const YAML::Node& n) {
         const std::string mode = read_string(n, "tls.uprobe_mode");
         if (mode == "per_process") tls.uprobe_mode = TlsUprobeMode::per_process;
         else if (mode == "global") tls.uprobe_mode = TlsUprobeMode::global;
         else fail(n, "tls.uprobe_mode: expected per_process or global, got '" + mode + "'");
       }},
      {"max_process_links", [&](const YAML::Node& n) {
         tls.max_process_links = read_u32(n, "tls.max_process_links", 16, 1u << 20);
       }},
      {"start_attach_budget_ms", [&](const YAML::Node& n) {
         tls.start_attach_budget_ms = read_u32(n, "tls.start_attach_budget_ms", 0, 60000);
       }},
      {"hold_exec_until_attached", [&](const YAML::Node& n) {
         tls.hold_exec_until_attached = read_bool(n, "tls.hold_exec_until_attached");
       }},
  });
}

void apply_metrics(const YAML::Node& node, MetricsConfig& metrics) {
  apply_mapping(node, "metrics", {
      {"enabled", [&](const YAML::Node& n) { metrics.enabled = read_bool(n, "metrics.enabled"); }},
      {"listen", [&](const YAML::Node& n) {
         metrics.listen = read_string(n, "metrics.listen");
         const size_t colon = metrics.listen.rfind(':');
         in_addr address{};
         const std::string port = colon == std::string::npos ? "" : metrics.listen.substr(colon + 1);
         const bool port_ok = !port.empty() && port.size() <= 5 &&
                              port.find_first_not_of("0123456789") == std::string::npos && std::stoul(port) >= 1 &&
                              std::stoul(port) <= 65535;
         if (colon == std::string::npos || inet_pton(AF_INET, metrics.listen.substr(0, colon).c_str(), &address) != 1 ||
             !port_ok)
           fail(n, "metrics.listen: expected IPV4-ADDRESS:PORT (port 1-65535), got '" + metrics.listen + "'");
       }},
  });
}

// kubernetes: api_watch on needs a node name (here or $NODE_NAME) and an https API server (or the in-cluster env).
void apply_kubernetes(const YAML::Node& node, KubernetesConfig& k) {
  YAML::Mark watch_mark = node.Mark();
  apply_mapping(node, "kubernetes", {
      {"api_watch", [&](const YAML::Node& n) {
         watch_mark = n.Mark();
         const std::string mode = read_string(n, "kubernetes.api_watch");
         if (mode == "auto") k.api_watch = KubeApiWatch::automatic;
         else if (mode == "on") k.api_watch = KubeApiWatch::on;
         else if (mode == "off") k.api_watch = KubeApiWatch::off;
         else fail(n, "kubernetes.api_watch: expected auto, on or off, got '" + mode + "'");
       }},
      {"node_name", [&](const YAML::Node& n) { k.node_name = read_string(n, "kubernetes.node_name"); }},
      {"api_server", [&](const YAML::Node& n) {
         k.api_server = read_string(n, "kubernetes.api_server");
         if (!k.api_server.empty() && k.api_server.rfind("https://", 0) != 0)
           fail(n, "kubernetes.api_server: must start with https:// (the service-account token is sent to it)");
       }},
      {"token_file", [&](const YAML::Node& n) { k.token_file = read_string(n, "kubernetes.token_file"); }},
      {"ca_file", [&](const YAML::Node& n) { k.ca_file = read_string(n, "kubernetes.ca_file"); }},
      {"log_root", [&](const YAML::Node& n) { k.log_root = read_string(n, "kubernetes.log_root"); }},
  });
  if (k.api_watch != KubeApiWatch::on) return;
  const char* env_node = std::getenv("NODE_NAME");
  if (k.node_name.empty() && (!env_node || !*env_node))
    throw ConfigError{watch_mark, "kubernetes.api_watch: on needs kubernetes.node_name or $NODE_NAME (the watch is limited to "
                     "this node's pods)"};
  const char* env_host = std::getenv("KUBERNETES_SERVICE_HOST");
  if (k.api_server.empty() && (!env_host || !*env_host))
    throw ConfigError{watch_mark, "kubernetes.api_watch: on needs kubernetes.api_server or $KUBERNETES_SERVICE_HOST"};
}

void apply_root(const YAML::Node& root, AgentConfig& cfg) {
  apply_mapping(root, "", {
      {"host_name", [&](const YAML::Node& n) { cfg.host_name = read_string(n, "host_name"); }},
      {"agent_id", [&](const YAML::Node& n) { cfg.agent_id = read_string(n, "agent_id"); }},
      {"state_dir", [&](const YAML::Node& n) { cfg.state_dir = read_string(n, "state_dir"); }},
      {"proc_root", [&](const YAML::Node& n) { cfg.proc_root = read_string(n, "proc_root"); }},
      {"metrics", [&](const YAML::Node& n) { apply_metrics(n, cfg.metrics); }},
      {"health_interval_seconds", [&](const YAML::Node& n) {
         cfg.health_interval_seconds = read_u32(n, "health_interval_seconds", 1, 86400);
       }},
      {"output", [&](const YAML::Node& n) {
         apply_mapping(n, "output", {{"json", [&](const YAML::Node& v) { cfg.output.json_path = read_string(v, "output.json"); }}});
       }},
      {"probes", [&](const YAML::Node& n) { apply_probes(n, cfg.probes); }},
      {"fingerprint", [&](const YAML::Node& n) {
         apply_mapping(n, "fingerprint", {
             {"key_file", [&](const YAML::Node& v) { cfg.fingerprint.key_file = read_string(v, "fingerprint.key_file"); }},
             {"key", [&](const YAML::Node& v) {
                cfg.fingerprint.key = read_string(v, "fingerprint.key");
                if (cfg.fingerprint.key.size() < 16) fail(v, "fingerprint.key: must be at least 16 characters");
              }},
         });
       }},
      {"mcp", [&](const YAML::Node& n) { apply_mcp(n, cfg.mcp); }},
      {"collector", [&](const YAML::Node& n) { apply_collector(n, cfg.collector); }},
      {"otlp", [&](const YAML::Node& n) { apply_otlp(n, cfg.otlp); }},
      {"secrets", [&](const YAML::Node& n) { apply_secrets(n, cfg.secrets); }},
      {"log", [&](const YAML::Node& n) { apply_log(n, cfg.log); }},
      {"tls", [&](const YAML::Node& n) { apply_tls(n, cfg.tls); }},
      {"kubernetes", [&](const YAML::Node& n) { apply_kubernetes(n, cfg.kubernetes); }},
      {"credential_use", [&](const YAML::Node& n) {
         apply_mapping(n, "credential_use", {
             {"aggregation_window_seconds", [&](const YAML::Node& v) {
                cfg.credential_use.aggregation_window_seconds =
                    read_u32(v, "credential_use.aggregation_window_seconds", 0, 86400);
              }},
             {"max_open_windows", [&](const YAML::Node& v) {
                cfg.credential_use.max_open_windows = read_u32(v, "credential_use.max_open_windows", 1, 10000000);
              }},
         });
       }},
      {"preload", [&](const YAML::Node& n) {
         apply_mapping(n, "preload", {
             {"enabled", [&](const YAML::Node& v) { cfg.preload.enabled = read_bool(v, "preload.enabled"); }},
             {"socket", [&](const YAML::Node& v) {
                cfg.preload.socket = read_string(v, "preload.socket");
                if (cfg.preload.socket.empty() || cfg.preload.socket[0] != '/' || cfg.preload.socket.size() >= 108)
                  fail(v, "preload.socket: must be an absolute path shorter than 108 bytes");
              }},
             {"max_processes", [&](const YAML::Node& v) {
                cfg.preload.max_processes = read_u32(v, "preload.max_processes", 1, 1000000);
              }},
             {"decide_seconds", [&](const YAML::Node& v) {
                cfg.preload.decide_seconds = read_u32(v, "preload.decide_seconds", 1, 3600);
              }},
         });
       }},
  });
}

std::string located(const std::string& name, const YAML::Mark& mark, const std::string& message) {
  std::ostringstream out;
  out << name << ":" << (mark.is_null() ? 0 : mark.line + 1) << ":" << (mark.is_null() ? 0 : mark.column + 1) << ": "
      << message;
  return out.str();
}

}  // namespace

std::string fleet_key_path(const AgentConfig& config) {
  return config.fingerprint.key_file.empty() ? config.state_dir + "/fleet.key" : config.fingerprint.key_file;
}

std::string collector_spool_dir(const AgentConfig& config) {
  return config.collector.spool_dir.empty() ? config.state_dir + "/spool" : config.collector.spool_dir;
}

AgentConfig default_config() {
  AgentConfig cfg;
  cfg.mcp.server_patterns = mcp::default_server_patterns();
  cfg.mcp.client_patterns = mcp::default_client_patterns();
  cfg.secrets.env_name_patterns = secrets::default_secret_env_patterns();
  cfg.secrets.env_name_excludes = secrets::default_secret_env_excludes();
  return cfg;
}

LoadResult load_config_text(const std::string& text, const std::string& name_for_errors) {
  AgentConfig cfg = default_config();
  try {
    YAML::Node root = YAML::Load(text);
    if (!root.IsNull() && !root.IsMap()) fail(root, "the config must be a mapping of sections");
    apply_root(root, cfg);
  } catch (const ConfigError& e) {
    return {std::nullopt, located(name_for_errors, e.mark, e.message)};
  } catch (const YAML::Exception& e) {
    return {std::nullopt, located(name_for_errors, e.mark, e.msg)};
  }
  return {std::move(cfg), ""};
}

LoadResult load_config_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return {std::nullopt, path + ":0:0: cannot open the config file"};
  std::stringstream buffer;
  buffer << in.rdbuf();
  return load_config_text(buffer.str(), path);
}

}  // namespace credtrace::config
