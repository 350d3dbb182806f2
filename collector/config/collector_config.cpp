// The collector's YAML config file: strict keys, typed values and ranges, errors located as NAME:LINE:COLUMN.
#include "config/collector_config.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <functional>
#include <map>
#include <sstream>

namespace credtrace::collector {
namespace {

// Thrown only inside this file, caught in apply_config_text.
struct ConfigError {
  YAML::Mark mark;
  std::string message;
};

[[noreturn]] void fail(const YAML::Node& node, const std::string& message) { throw ConfigError{node.Mark(), message}; }

std::string read_string(const YAML::Node& node, const std::string& key) {
  if (!node.IsScalar() || node.Scalar().empty()) fail(node, key + ": expected a non-empty string");
  return node.Scalar();
}

int64_t read_int(const YAML::Node& node, const std::string& key, int64_t min, int64_t max) {
  if (!node.IsScalar()) fail(node, key + ": expected a number");
  const std::string& text = node.Scalar();
  size_t used = 0;
  long long value = 0;
  try {
    value = std::stoll(text, &used, 10);
  } catch (...) {
    used = 0;
  }
  if (used == 0 || used != text.size()) fail(node, key + ": expected an integer, got '" + text + "'");
  if (value < min || value > max)
    fail(node, key + ": " + text + " is out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  return value;
}

bool read_bool(const YAML::Node& node, const std::string& key) {
  if (!node.IsScalar()) fail(node, key + ": expected true or false");
  const std::string& text = node.Scalar();
  if (text == "true") return true;
  if (text == "false") return false;
  fail(node, key + ": expected true or false, got '" + text + "'");
}

std::string read_file_content(const YAML::Node& node, const std::string& key) {
  const std::string path = read_string(node, key);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(node, key + ": cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  std::string content = text.str();
  const size_t first = content.find_first_not_of(" \t\r\n");
  const size_t last = content.find_last_not_of(" \t\r\n");
  content = first == std::string::npos ? "" : content.substr(first, last - first + 1);
  if (content.empty()) fail(node, key + ": " + path + " is empty");  // its content is never shown
  return content;
}

using Setters = std::map<std::string, std::function<void(const YAML::Node&)>>;

void apply_mapping(const YAML::Node& node, const std::string& section, const Setters& setters) {
  if (node.IsNull()) return;
  if (!node.IsMap()) fail(node, (section.empty() ? "config" : section) + ": expected a mapping");
  for (const auto& entry : node) {
    const std::string key = entry.first.as<std::string>();
    const std::string full = section.empty() ? key : section + "." + key;
    auto it = setters.find(key);
    if (it == setters.end()) {
      std::string allowed;
      for (const auto& [name, _] : setters) allowed += (allowed.empty() ? "" : ", ") + name;
      fail(entry.first, "unknown key '" + full + "' (allowed: " + allowed + ")");
    }
    it->second(entry.second);
  }
}

void apply_connections(const YAML::Node& n, ConnectionLimits& c) {
  auto count = [](const YAML::Node& v, const std::string& key) {
    return static_cast<unsigned>(read_int(v, "connections." + key, 1, 1000000));
  };
  auto seconds = [](const YAML::Node& v, const std::string& key) {
    return std::chrono::milliseconds(read_int(v, "connections." + key, 1, 86400) * 1000);
  };
  apply_mapping(n, "connections", {
      {"max", [&](const YAML::Node& v) { c.max_connections = count(v, "max"); }},
      {"max_per_address", [&](const YAML::Node& v) { c.max_per_address = count(v, "max_per_address"); }},
      {"max_unauthenticated_per_address", [&](const YAML::Node& v) {
         c.max_unauthenticated_per_address = count(v, "max_unauthenticated_per_address");
       }},
      {"header_timeout_seconds", [&](const YAML::Node& v) { c.header_timeout = seconds(v, "header_timeout_seconds"); }},
      {"request_timeout_seconds", [&](const YAML::Node& v) { c.request_timeout = seconds(v, "request_timeout_seconds"); }},
      {"idle_timeout_seconds", [&](const YAML::Node& v) { c.idle_timeout = seconds(v, "idle_timeout_seconds"); }},
      {"max_buffered_body_bytes", [&](const YAML::Node& v) {
         c.max_buffered_body_bytes = static_cast<size_t>(read_int(v, "connections.max_buffered_body_bytes", 1 << 20, 1ll << 40));
       }},
  });
}

void apply_root(const YAML::Node& root, CollectorSettings& s) {
  bool db_given = false, db_file_given = false;
  apply_mapping(root, "", {
      {"listen", [&](const YAML::Node& n) { s.listen = read_string(n, "listen"); }},
      {"db", [&](const YAML::Node& n) {
         if (db_file_given) fail(n, "db: give db or db_file, not both");
         s.db = read_string(n, "db");
         db_given = true;
         if (!s.db.starts_with("sqlite:") && !s.db.starts_with("postgres://") && !s.db.starts_with("postgresql://"))
           fail(n, "db: expected sqlite:PATH or postgres://...");
       }},
      {"db_file", [&](const YAML::Node& n) {
         if (db_given) fail(n, "db_file: give db or db_file, not both");
         s.db = read_file_content(n, "db_file");
         db_file_given = true;
         if (!s.db.starts_with("sqlite:") && !s.db.starts_with("postgres://") && !s.db.starts_with("postgresql://"))
           fail(n, "db_file: its content must be sqlite:PATH or postgres://... (not shown: it may hold a password)");
       }},
      {"tls", [&](const YAML::Node& n) {
         apply_mapping(n, "tls", {
             {"cert", [&](const YAML::Node& v) { s.tls_cert = read_string(v, "tls.cert"); }},
             {"key", [&](const YAML::Node& v) { s.tls_key = read_string(v, "tls.key"); }},
             {"client_ca", [&](const YAML::Node& v) { s.client_ca = read_string(v, "tls.client_ca"); }},
         });
       }},
      {"agent_tokens_file", [&](const YAML::Node& n) { s.agent_tokens = read_string(n, "agent_tokens_file"); }},
      {"reader_tokens_file", [&](const YAML::Node& n) { s.reader_tokens = read_string(n, "reader_tokens_file"); }},
      {"retention_days", [&](const YAML::Node& n) { s.retention_days = static_cast<int>(read_int(n, "retention_days", 0, 36500)); }},
      {"threads", [&](const YAML::Node& n) { s.threads = static_cast<unsigned>(read_int(n, "threads", 1, 256)); }},
      {"sqlite_synchronous", [&](const YAML::Node& n) {
         s.sqlite_synchronous = read_string(n, "sqlite_synchronous");
         if (s.sqlite_synchronous != "full" && s.sqlite_synchronous != "normal")
           fail(n, "sqlite_synchronous: expected full or normal");
       }},
      {"limits", [&](const YAML::Node& n) {
         apply_mapping(n, "limits", {
             {"max_body_bytes", [&](const YAML::Node& v) {
                s.max_body_bytes = static_cast<size_t>(read_int(v, "limits.max_body_bytes", 1024, 1ll << 31));
              }},
             {"max_decompressed_bytes", [&](const YAML::Node& v) {
                s.max_decompressed_bytes = static_cast<size_t>(read_int(v, "limits.max_decompressed_bytes", 1024, 1ll << 32));
              }},
             {"max_batch_events", [&](const YAML::Node& v) {
                s.max_batch_events = static_cast<size_t>(read_int(v, "limits.max_batch_events", 1, 10000000));
              }},
             {"max_string_bytes", [&](const YAML::Node& v) {
                s.event_limits.max_string_bytes = static_cast<size_t>(read_int(v, "limits.max_string_bytes", 256, 1ll << 30));
              }},
             {"max_repeated_entries", [&](const YAML::Node& v) {
                s.event_limits.max_repeated_entries = static_cast<size_t>(read_int(v, "limits.max_repeated_entries", 16, 1ll << 24));
              }},
             {"max_event_bytes", [&](const YAML::Node& v) {
                s.event_limits.max_event_bytes = static_cast<size_t>(read_int(v, "limits.max_event_bytes", 1024, 1ll << 31));
              }},
             {"max_answer_bytes", [&](const YAML::Node& v) {
                s.max_answer_bytes = static_cast<size_t>(read_int(v, "limits.max_answer_bytes", 4096, 1ll << 32));
              }},
             {"max_clock_ahead_seconds", [&](const YAML::Node& v) {
                s.event_limits.max_ahead_seconds = read_int(v, "limits.max_clock_ahead_seconds", 0, 365ll * 86400);
              }},
         });
       }},
      {"connections", [&](const YAML::Node& n) { apply_connections(n, s.connections); }},
      {"otlp", [&](const YAML::Node& n) {
         apply_mapping(n, "otlp", {
             {"endpoint", [&](const YAML::Node& v) {
                s.otlp_endpoint = read_string(v, "otlp.endpoint");
                if (!s.otlp_endpoint.starts_with("https://") && !s.otlp_endpoint.starts_with("http://"))
                  fail(v, "otlp.endpoint: must start with https:// (or http:// to loopback)");
              }},
             {"headers_file", [&](const YAML::Node& v) { s.otlp_headers_file = read_string(v, "otlp.headers_file"); }},
             {"ca_file", [&](const YAML::Node& v) { s.otlp_ca_file = read_string(v, "otlp.ca_file"); }},
             {"service_name", [&](const YAML::Node& v) { s.otlp_service_name = read_string(v, "otlp.service_name"); }},
             {"batch_max_records", [&](const YAML::Node& v) {
                s.otlp_batch_max_records = static_cast<size_t>(read_int(v, "otlp.batch_max_records", 1, 100000));
              }},
             {"max_queue_records", [&](const YAML::Node& v) {
                s.otlp_max_queue_records = static_cast<size_t>(read_int(v, "otlp.max_queue_records", 1, 10000000));
              }},
             {"flush_interval_ms", [&](const YAML::Node& v) { s.otlp_flush_interval_ms = read_int(v, "otlp.flush_interval_ms", 1, 600000); }},
             {"timeout_ms", [&](const YAML::Node& v) { s.otlp_timeout_ms = read_int(v, "otlp.timeout_ms", 1, 600000); }},
             {"retry_initial_ms", [&](const YAML::Node& v) { s.otlp_retry_initial_ms = read_int(v, "otlp.retry_initial_ms", 1, 600000); }},
             {"retry_max_ms", [&](const YAML::Node& v) { s.otlp_retry_max_ms = read_int(v, "otlp.retry_max_ms", 1, 3600000); }},
         });
         if (s.otlp_retry_max_ms < s.otlp_retry_initial_ms) fail(n, "otlp: retry_max_ms must be at least retry_initial_ms");
       }},
      {"ui", [&](const YAML::Node& n) {
         apply_mapping(n, "ui", {
             {"enabled", [&](const YAML::Node& v) { s.ui = read_bool(v, "ui.enabled"); }},
             {"session_idle_minutes", [&](const YAML::Node& v) {
                s.ui_session_idle_minutes = static_cast<int>(read_int(v, "ui.session_idle_minutes", 1, 7 * 24 * 60));
              }},
             {"session_max_hours", [&](const YAML::Node& v) {
                s.ui_session_max_hours = static_cast<int>(read_int(v, "ui.session_max_hours", 1, 30 * 24));
              }},
             {"max_sessions", [&](const YAML::Node& v) {
                s.ui_max_sessions = static_cast<size_t>(read_int(v, "ui.max_sessions", 1, 1000000));
              }},
         });
       }},
      {"alerts", [&](const YAML::Node& n) {
         apply_mapping(n, "alerts", {
             {"max_age_days", [&](const YAML::Node& v) { s.alert_max_age_days = static_cast<int>(read_int(v, "alerts.max_age_days", 0, 36500)); }},
             {"max_jwt_ttl_seconds", [&](const YAML::Node& v) {
                s.alert_max_jwt_ttl_seconds = read_int(v, "alerts.max_jwt_ttl_seconds", 0, 1ll << 40);
              }},
             {"allowlist_file", [&](const YAML::Node& v) { s.alert_allowlist = read_string(v, "alerts.allowlist_file"); }},
         });
       }},
  });
}

}  // namespace

Status apply_config_text(const std::string& text, const std::string& name_for_errors, CollectorSettings& settings) {
  CollectorSettings next = settings;
  try {
    YAML::Node root = YAML::Load(text);
    if (!root.IsNull()) apply_root(root, next);
  } catch (const ConfigError& e) {
    return Status::error(name_for_errors + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                         ": " + e.message);
  } catch (const YAML::Exception& e) {
    if (e.mark.is_null()) return Status::error(name_for_errors + ": " + e.msg);
    return Status::error(name_for_errors + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                         ": " + e.msg);
  }
  settings = std::move(next);
  return {};
}

Status apply_config_file(const std::string& path, CollectorSettings& settings) {
  std::ifstream in(path);
  if (!in) return Status::error("cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  return apply_config_text(text.str(), path, settings);
}

}  // namespace credtrace::collector
