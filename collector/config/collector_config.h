// The collector's settings: built-in defaults, the YAML config file (--config, strict, FILE:LINE:COLUMN errors) and
// the command-line flags over it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/status.h"
#include "http/connection_guard.h"
#include "ingest/event_limits.h"
#include "logging/cli_flags.h"

namespace credtrace::collector {

struct CollectorSettings {
  std::string listen = "127.0.0.1:8787";
  std::string tls_cert, tls_key;
  std::string client_ca;
  std::string agent_tokens, reader_tokens;
  std::string db = "sqlite:/var/lib/credtrace-collector/collector.db";
  int retention_days = 30;
  size_t max_body_bytes = 8u << 20;
  size_t max_decompressed_bytes = 64u << 20;
  size_t max_batch_events = 100000;
  unsigned threads = 4;
  std::string sqlite_synchronous = "full";
  int alert_max_age_days = 90;
  int64_t alert_max_jwt_ttl_seconds = 86400;
  std::string alert_allowlist;
  ConnectionLimits connections;
  EventLimits event_limits;
  size_t max_answer_bytes = 8u << 20;  // a query answer's JSON (a page is cut before it, its cursor continues)
  bool ui = false;                      // the web UI under /ui/ (needs reader tokens: its login takes one)
  int ui_session_idle_minutes = 30;
  int ui_session_max_hours = 12;
  size_t ui_max_sessions = 1000;
  // OTLP export of every stored event (off while otlp_endpoint is empty); keys as the agent's otlp section.
  std::string otlp_endpoint, otlp_headers_file, otlp_ca_file;
  std::string otlp_service_name = "credtrace-collector";
  size_t otlp_batch_max_records = 512, otlp_max_queue_records = 100000;
  int64_t otlp_flush_interval_ms = 1000, otlp_timeout_ms = 10000, otlp_retry_initial_ms = 500, otlp_retry_max_ms = 30000;
  credtrace::log::Flags log;
};

// Applies the YAML text onto settings. Keys: listen, db, db_file (a file whose content is the database URI: a
// PostgreSQL password stays out of argv and the environment), tls.{cert,key,client_ca}, agent_tokens_file,
// reader_tokens_file, retention_days, threads, sqlite_synchronous, limits.{max_body_bytes,max_decompressed_bytes,
// max_batch_events,max_string_bytes,max_repeated_entries,max_event_bytes,max_clock_ahead_seconds,max_answer_bytes}, alerts.{max_age_days,max_jwt_ttl_seconds,allowlist_file}, connections.{max,max_per_address,
// max_unauthenticated_per_address,header_timeout_seconds,request_timeout_seconds,idle_timeout_seconds,
// max_buffered_body_bytes}, ui.{enabled,session_idle_minutes,session_max_hours,max_sessions},
// otlp.{endpoint,headers_file,ca_file,service_name,batch_max_records,flush_interval_ms,max_queue_records,timeout_ms,
// retry_initial_ms,retry_max_ms}. Unknown keys and bad values are errors
// "NAME:LINE:COLUMN: message"; nothing is applied then.
Status apply_config_text(const std::string& text, const std::string& name_for_errors, CollectorSettings& settings);
Status apply_config_file(const std::string& path, CollectorSettings& settings);

}  // namespace credtrace::collector
