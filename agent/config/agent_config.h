// Agent configuration: the YAML schema, built-in defaults, and validation with file:line:column errors.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "logging/log.h"

namespace credtrace::config {

struct OutputConfig {
  std::string json_path = "-";  // "-" is stdout, "" disables JSON lines
};

struct ProbeConfig {
  uint32_t ringbuf_bytes = 8u << 20;         // power of two, >= 64 KiB
  uint32_t poll_interval_ms = 20;            // batched consumption of the ring buffer
  uint32_t wakeup_threshold_bytes = 1u << 20; // fill level that forces an early wake-up
  bool exec_prefilter = true;                 // skip execs of unwatched processes with uninteresting names
  // Captures (an open, a connect, one call's TLS/socket/stdio data, ...) one watched process may make per second (0: no
  // limit); past it the kernel drops them, counted as drops.rate_limited, so one process's flood cannot starve the
  // others. Exec, fork, exit and library maps are never limited.
  uint32_t max_captures_per_process_per_second = 50000;
  // Bytes of those captures (what they can copy into the ring) per process per second (0: no byte limit): one
  // process's burst of big writes cannot fill the ring for the others either.
  uint32_t max_capture_bytes_per_process_per_second = 32u << 20;
};

struct FingerprintConfig {
  std::string key_file;  // default: <state_dir>/fleet.key
  std::string key;  // inline key material; overrides key_file (prefer key_file)
};

// MCP tool-call capture (stdio pipes and HTTP transports of watched servers and clients).
struct McpToolCallsConfig {
  bool enabled = true;                          // off: no session is followed, no call reported
  uint32_t max_message_bytes = 4u << 20;        // a longer JSON-RPC message (line or body) is skipped and counted
  uint32_t timeout_seconds = 300;               // a call unanswered this long is reported as no_answer (timeout)
  uint32_t max_pending = 1024;                  // calls in flight per session; beyond, the oldest is reported evicted
  bool arguments_shape = true;                  // report the arguments' key names and types (never values)
};

struct McpConfig {
  std::vector<std::string> server_patterns;  // argv/exe globs that make a process an MCP server
  std::vector<std::string> client_patterns;  // MCP client processes whose children are checked by protocol
  std::vector<std::string> config_paths;     // extra MCP client config files, or project dirs holding them
  bool scan_user_homes = true;               // every home in passwd_file is searched for client configs
  std::string passwd_file = "/etc/passwd";
  bool protocol_detection = true;            // classify children of clients by their first stdin message
  std::vector<std::string> extra_executables; // file names added to the kernel's exec prefilter
  McpToolCallsConfig tool_calls;
};

struct SecretsConfig {
  std::vector<std::string> env_name_patterns;
  std::vector<std::string> env_name_excludes;
  bool read_files = true;                    // opens of credential files by watched processes are read and reported
  std::vector<std::string> extra_file_patterns;  // globs added to the default credential paths ("!glob" excludes)
  uint32_t max_file_bytes = 1 << 20;         // larger credential files are reported as too_large, not read
  bool scan_mcp_configs = true;              // hard-coded credentials in MCP client configs (start + inotify)
};

struct CredentialUseConfig {
  uint32_t aggregation_window_seconds = 60;  // repeats of (workload, credential, destination, carrier) in a window
  uint32_t max_open_windows = 65536;         // beyond this, uses are emitted one by one (counted), never dropped
};

// The LD_PRELOAD sensor's channel (libcredtrace-preload.so registers each process on this socket).
struct PreloadConfig {
  bool enabled = true;                                  // off: no socket; preloaded processes pass through
  std::string socket = "/run/credtrace/preload.sock";  // created 0666 in a 0755 directory; peers are authenticated
  uint32_t max_processes = 4096;                        // registered at once; beyond, registrations are refused (counted)
  uint32_t decide_seconds = 2;  // a registered process no server claims this long is let go (its hooks pass through)
};

// Where the TLS uprobes go (docs/configuration.md#tls).
enum class TlsUprobeMode {
  per_process,  // each watched process (without a working preload) gets its own links: no breakpoint elsewhere
  global,       // once per library file, for every process mapping it (the programs check the watch)
};

struct TlsConfig {
  TlsUprobeMode uprobe_mode = TlsUprobeMode::per_process;
  uint32_t max_process_links = 8000;    // per_process: uprobe links over all processes; beyond, refused and counted
  uint32_t start_attach_budget_ms = 100;  // the start scan's inline TLS attaches; running processes past it: after ready
  bool hold_exec_until_attached = true;   // per_process: a watched exec is stopped until its uprobes are attached
};

// The collector sink (agent → collector over HTTP(S), batched, spooled on disk); off while url is empty.
struct CollectorConfig {
  std::string url;         // https://collector:8787 (plain http only to loopback)
  std::string token_file;  // bearer token, one line
  std::string ca_file;     // CA bundle that signs the collector's certificate (default: system CAs)
  std::string cert_file;   // client certificate and key for mTLS (both or neither)
  std::string key_file;
  uint32_t batch_max_events = 1000;
  uint32_t batch_max_bytes = 1u << 20;      // serialized events per batch, before compression
  uint32_t flush_interval_ms = 1000;        // a batch is sent at the latest this long after its first event
  std::string spool_dir;                    // default: <state_dir>/spool
  uint64_t spool_max_bytes = 256ull << 20;  // beyond this the oldest batches are deleted (counted)
  uint32_t retry_initial_ms = 500;          // exponential backoff with full jitter between these
  uint32_t retry_max_ms = 30000;

  bool operator==(const CollectorConfig&) const = default;
};

// OpenTelemetry export: events as OTLP log records over HTTP (JSON), off while endpoint is empty.
struct OtlpConfig {
  std::string endpoint;      // https://otel-collector:4318 (…/v1/logs appended); plain http only to loopback
  std::string headers_file;  // "Name: value" lines sent with every request (an API key); never logged
  std::string ca_file;       // CA bundle of the endpoint's certificate (default: system CAs)
  std::string service_name = "credtrace-agent";
  uint32_t batch_max_records = 512;
  uint32_t flush_interval_ms = 1000;
  uint32_t max_queue_records = 10000;  // waiting to be sent; past it new records are dropped (counted)
  uint32_t timeout_ms = 10000;
  uint32_t retry_initial_ms = 500;
  uint32_t retry_max_ms = 30000;

  bool operator==(const OtlpConfig&) const = default;
};

// The agent's diagnostics on stderr (never events: those go to output and collector).
struct LogConfig {
  log::Level level = log::Level::info;
  log::Format format = log::Format::text;
  log::SyslogPrefix syslog_prefix = log::SyslogPrefix::automatic;  // "<N>" for journald; auto: when stderr is it
};

// The agent's Prometheus endpoint (off by default; loopback by default).
struct MetricsConfig {
  bool enabled = false;
  std::string listen = "127.0.0.1:9464";
};

// Kubernetes pod identity (docs/configuration.md#kubernetes): the API server watch of the node's pods, and the
// kubelet's log directories as the fallback.
enum class KubeApiWatch { automatic, on, off };  // auto: on when KUBERNETES_SERVICE_HOST is set and the token exists

struct KubernetesConfig {
  KubeApiWatch api_watch = KubeApiWatch::automatic;
  std::string node_name;   // default: $NODE_NAME
  std::string api_server;  // default: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT
  std::string token_file = "/var/run/secrets/kubernetes.io/serviceaccount/token";
  std::string ca_file = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
  std::string log_root = "/var/log";  // kubelet's containers/ and pods/ log directories
};

struct AgentConfig {
  std::string host_name;   // default: $CREDTRACE_HOST_NAME, else gethostname() (agent.cpp)
  std::string agent_id;    // default: derived from /etc/machine-id and host name
  std::string state_dir = "/var/lib/credtrace";
  std::string proc_root = "/proc";
  uint32_t health_interval_seconds = 60;
  OutputConfig output;
  ProbeConfig probes;
  FingerprintConfig fingerprint;
  McpConfig mcp;
  SecretsConfig secrets;
  CredentialUseConfig credential_use;
  PreloadConfig preload;
  TlsConfig tls;
  MetricsConfig metrics;
  CollectorConfig collector;
  OtlpConfig otlp;
  LogConfig log;
  KubernetesConfig kubernetes;
};

// The fleet key file: fingerprint.key_file, or <state_dir>/fleet.key when it is not set.
std::string fleet_key_path(const AgentConfig& config);

// The collector spool directory: collector.spool_dir, or <state_dir>/spool when it is not set.
std::string collector_spool_dir(const AgentConfig& config);

// Built-in defaults (patterns from the secrets and mcp libraries).
AgentConfig default_config();

struct LoadResult {
  std::optional<AgentConfig> config;
  std::string error;  // "FILE:LINE:COLUMN: message" when config is empty
};

LoadResult load_config_file(const std::string& path);
LoadResult load_config_text(const std::string& text, const std::string& name_for_errors);

}  // namespace credtrace::config
