// credtrace-collector entry point: flags, store, HTTP(S) server, retention, and a clean stop on SIGINT/SIGTERM.
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <functional>
#include <map>
#include <fstream>
#include <sstream>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "common/metrics.h"
#include "config/collector_config.h"
#include "http/auth.h"
#include "http/http_server.h"
#include "http/listen_address.h"
#include "http/router.h"
#include "ingest/ingest.h"
#include "logging/cli_flags.h"
#include "logging/log.h"
#include "query/query_api.h"
#include "store/retention.h"
#include "store/store.h"

namespace cc = credtrace::collector;

namespace {

using Flags = cc::CollectorSettings;

void add_flags(CLI::App& app, Flags& f) {
  app.add_option("--listen", f.listen, "HOST:PORT; plain HTTP only on loopback unless --tls-cert/--tls-key")
      ->capture_default_str();
  app.add_option("--tls-cert", f.tls_cert, "PEM certificate (chain) for HTTPS")->check(CLI::ExistingFile);
  app.add_option("--tls-key", f.tls_key, "PEM private key for HTTPS")->check(CLI::ExistingFile);
  app.add_option("--client-ca", f.client_ca,
                 "PEM CA bundle: agents presenting a client certificate it verifies are authenticated (needs "
                 "--tls-cert/--tls-key)")
      ->check(CLI::ExistingFile);
  app.add_option("--agent-tokens", f.agent_tokens,
                 "file of agent bearer tokens, one per line, # comments (required unless --client-ca)")
      ->check(CLI::ExistingFile);
  app.add_option("--reader-tokens", f.reader_tokens, "file of query API bearer tokens")->check(CLI::ExistingFile);
  app.add_option("--db", f.db, "sqlite:PATH or postgres://...")->capture_default_str();
  app.add_option("--retention-days", f.retention_days, "delete data older than N days (0: keep)")
      ->capture_default_str()->check(CLI::Range(0, 36500));
  app.add_option("--max-body-bytes", f.max_body_bytes, "largest compressed request body")->capture_default_str()
      ->check(CLI::Range(size_t{1024}, size_t{1} << 31));
  app.add_option("--max-decompressed-bytes", f.max_decompressed_bytes, "largest inflated ingest body")
      ->capture_default_str()->check(CLI::Range(size_t{1024}, size_t{1} << 32));
  app.add_option("--max-batch-events", f.max_batch_events, "most events in one batch")
      ->capture_default_str()->check(CLI::Range(size_t{1}, size_t{10000000}));
  app.add_option("--threads", f.threads,
                 "batches decoded (ingest) and database reads (queries) at once; each connection has its own thread")
      ->capture_default_str()->check(CLI::Range(1, 256));
  app.add_option("--sqlite-synchronous", f.sqlite_synchronous,
                 "full: an acknowledged batch survives power loss; normal: survives a crash of the collector")
      ->capture_default_str()->check(CLI::IsMember({"full", "normal"}));
  app.add_option("--alert-max-age-days", f.alert_max_age_days,
                 "alert on a static credential still used this many days after first seen (0: off)")
      ->capture_default_str()->check(CLI::Range(0, 36500));
  app.add_option("--alert-max-jwt-ttl-seconds", f.alert_max_jwt_ttl_seconds, "alert on a JWT whose TTL exceeds this (0: off)")
      ->capture_default_str()->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  app.add_option("--alert-allowlist", f.alert_allowlist,
                 "YAML/JSON file: host globs per credential type and per workload id; other destinations alert")
      ->check(CLI::ExistingFile);
  app.add_option("--otlp-endpoint", f.otlp_endpoint,
                 "export every stored event as OTLP log records to this OpenTelemetry endpoint (http(s)://HOST:4318)");
  app.add_flag("--ui", f.ui, "serve the web UI under /ui/ (login with a reader token; needs --reader-tokens)");
  credtrace::log::add_flags(app, f.log, true, "");
  app.set_version_flag("--version", std::string("credtrace-collector ") + CREDTRACE_VERSION);
}

cc::Status read_file(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return cc::Status::error("cannot read " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  out = buffer.str();
  return {};
}

cc::Status server_options(const Flags& f, cc::HttpServerOptions& out) {
  if (cc::Status s = cc::parse_listen_address(f.listen, out.listen); !s.ok()) return s;
  if (f.tls_cert.empty() != f.tls_key.empty()) return cc::Status::error("--tls-cert and --tls-key go together");
  if (!f.client_ca.empty() && f.tls_cert.empty())
    return cc::Status::error("--client-ca needs --tls-cert and --tls-key: client certificates are only asked for "
                             "over HTTPS");
  if (f.tls_cert.empty() && !out.listen.loopback)
    return cc::Status::error("refusing plain HTTP on non-loopback " + f.listen + ": give --tls-cert and --tls-key");
  if (!f.tls_cert.empty()) {
    if (cc::Status s = read_file(f.tls_cert, out.tls_cert_pem); !s.ok()) return s;
    if (cc::Status s = read_file(f.tls_key, out.tls_key_pem); !s.ok()) return s;
  }
  if (!f.client_ca.empty()) {
    if (cc::Status s = read_file(f.client_ca, out.client_ca_pem); !s.ok()) return s;
    size_t count = 0;
    if (cc::Status s = cc::check_client_ca(out.client_ca_pem, count); !s.ok())
      return cc::Status::error("--client-ca " + f.client_ca + ": " + s.message());
    credtrace::log::info("--client-ca: " + std::to_string(count) +
                         " CA certificates; agents presenting a client certificate they verify are authenticated");
  }
  out.max_body_bytes = f.max_body_bytes;
  out.connections = f.connections;
  if (f.connections.max_per_address > f.connections.max_connections ||
      f.connections.max_unauthenticated_per_address > f.connections.max_per_address)
    return cc::Status::error("connections: expected max_unauthenticated_per_address <= max_per_address <= max");
  if (f.connections.max_buffered_body_bytes < f.max_body_bytes)
    return cc::Status::error("connections.max_buffered_body_bytes must be at least --max-body-bytes");
  return {};
}

cc::Status alert_config(const Flags& f, cc::AlertConfig& out) {
  out.max_age_ns = static_cast<int64_t>(f.alert_max_age_days) * 86400 * 1'000'000'000LL;
  out.max_jwt_ttl_seconds = f.alert_max_jwt_ttl_seconds;
  if (f.alert_allowlist.empty()) return {};
  return cc::load_allowlist(f.alert_allowlist, out.allowlist);
}

// The OTLP exporter's options (endpoint "" : none); false and *error when the settings cannot work.
bool otlp_options(const Flags& f, std::optional<credtrace::otlp::OtlpOptions>& out, std::string* error) {
  if (f.otlp_endpoint.empty()) return true;
  credtrace::otlp::OtlpOptions o;
  o.endpoint = f.otlp_endpoint;
  o.ca_file = f.otlp_ca_file;
  o.resource = {f.otlp_service_name, CREDTRACE_VERSION, ""};
  o.batch_max_records = f.otlp_batch_max_records;
  o.max_queue_records = f.otlp_max_queue_records;
  o.flush_interval = std::chrono::milliseconds(f.otlp_flush_interval_ms);
  o.timeout = std::chrono::milliseconds(f.otlp_timeout_ms);
  o.retry_initial = std::chrono::milliseconds(f.otlp_retry_initial_ms);
  o.retry_max = std::chrono::milliseconds(f.otlp_retry_max_ms);
  out = credtrace::otlp::checked_options(std::move(o), f.otlp_headers_file, error);
  return out.has_value();
}

std::string otlp_metrics_text(const credtrace::otlp::OtlpExporter* exporter) {
  if (!exporter) return {};
  const credtrace::otlp::OtlpStats s = exporter->stats();
  std::string out;
  auto series = [&](const char* name, const char* type, const char* help, uint64_t value) {
    out += std::string("# HELP credtrace_collector_otlp_") + name + " " + help + "\n";
    out += std::string("# TYPE credtrace_collector_otlp_") + name + " " + type + "\n";
    out += std::string("credtrace_collector_otlp_") + name + " " + std::to_string(value) + "\n";
  };
  series("records_sent_total", "counter", "Events exported as OTLP log records and acknowledged.", s.records_sent);
  series("batches_sent_total", "counter", "OTLP export requests acknowledged.", s.batches_sent);
  series("send_failures_total", "counter", "OTLP export attempts that failed and are retried.", s.send_failures);
  series("records_dropped_total", "counter", "Events not exported: the queue was full, or still held at stop.",
         s.records_dropped);
  series("records_rejected_total", "counter", "Events the OTLP endpoint refused for good.", s.records_rejected);
  series("queue_records", "gauge", "Events waiting for OTLP export.", s.queue_records);
  return out;
}

cc::UiOptions ui_options(const Flags& f) {
  cc::UiOptions options;
  options.enabled = f.ui;
  options.tls = !f.tls_cert.empty();
  options.sessions.idle = std::chrono::minutes(f.ui_session_idle_minutes);
  options.sessions.absolute = std::chrono::hours(f.ui_session_max_hours);
  options.sessions.max_sessions = f.ui_max_sessions;
  return options;
}

int fail(const cc::Status& status) {
  credtrace::log::error(status.message());
  return 2;
}

// Blocks SIGINT/SIGTERM in every thread (started later) and waits for one here.
sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  return set;
}

// Agents authenticate with a token from --agent-tokens, a client certificate verified by --client-ca, or either
// when both are given; at least one must be configured.
cc::Status agent_auth(const Flags& f, cc::TokenSet& agents) {
  if (f.agent_tokens.empty() && f.client_ca.empty())
    return cc::Status::error("agents cannot authenticate: give --agent-tokens FILE, --client-ca FILE (mTLS), or both");
  if (f.agent_tokens.empty()) return {};
  return cc::TokenSet::load(f.agent_tokens, agents);
}

std::string auth_summary(const Flags& f, const cc::TokenSet& agents, const cc::TokenSet& readers) {
  std::string out = std::to_string(agents.size()) + " agent tokens, ";
  if (!f.client_ca.empty()) out += "agent client certificates, ";
  return out + std::to_string(readers.size()) + " reader tokens";
}

// Everything that can be checked without opening the database or the port: the listen address and TLS files, agent
// authentication and token files, the alert allowlist, the OTLP export (`otlp`: its options, or none) and the
// database URL's scheme. run() and --check-config use it.
cc::Status check_settings(const Flags& f, cc::HttpServerOptions& http, cc::TokenSet& agents, cc::TokenSet& readers,
                          cc::AlertConfig& alerts, std::optional<credtrace::otlp::OtlpOptions>& otlp) {
  if (cc::Status s = server_options(f, http); !s.ok()) return s;
  if (cc::Status s = agent_auth(f, agents); !s.ok()) return s;
  if (!f.reader_tokens.empty())
    if (cc::Status s = cc::TokenSet::load(f.reader_tokens, readers); !s.ok()) return s;
  if (cc::Status s = alert_config(f, alerts); !s.ok()) return s;
  std::string otlp_error;
  if (!otlp_options(f, otlp, &otlp_error)) return cc::Status::error(otlp_error);
  if (f.ui && f.reader_tokens.empty())
    return cc::Status::error("--ui needs --reader-tokens: the web UI's login takes a reader token");
  if (!f.db.starts_with("sqlite:") && !f.db.starts_with("postgres://") && !f.db.starts_with("postgresql://"))
    return cc::Status::error("--db must be sqlite:PATH or postgres://... (the value given is neither)");
  return {};
}

// Every connection is a descriptor: the soft limit goes up to the hard one (a unit's default soft limit, 1024, is
// below the default connection limit).
void raise_file_limit(unsigned max_connections) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
  const rlim_t wanted = max_connections + max_connections / 4 + 64 + 128;  // the server's hard limit and the store's
  if (limit.rlim_cur < wanted)
    credtrace::log::warn("open file limit " + std::to_string(limit.rlim_cur) + " is below the " +
                         std::to_string(wanted) + " that connections.max " + std::to_string(max_connections) +
                         " needs: raise LimitNOFILE or lower connections.max");
}

int run(const Flags& f) {
  credtrace::log::Options log_options;
  log_options.component = "credtrace-collector";
  credtrace::log::configure(f.log.applied_to(std::move(log_options)));
  ::umask(077);  // the database and its WAL are readable by the collector's user only
  if (::geteuid() == 0)
    credtrace::log::warn("running as root: the collector needs no privileges; run it as its own user");
  cc::HttpServerOptions http;
  cc::TokenSet agents, readers;
  std::unique_ptr<cc::Store> store;
  cc::StoreOptions store_options{f.db, static_cast<int>(f.threads), f.sqlite_synchronous == "full", {}};
  std::optional<credtrace::otlp::OtlpOptions> otlp_settings;
  if (cc::Status s = check_settings(f, http, agents, readers, store_options.alerts, otlp_settings); !s.ok())
    return fail(s);
  if (cc::Status s = cc::open_store(store_options, store); !s.ok()) return fail(s);

  cc::Metrics metrics;
  cc::IngestService ingest(*store, metrics,
                           cc::IngestOptions{f.max_decompressed_bytes, {f.max_batch_events}, f.event_limits, f.threads});
  std::unique_ptr<credtrace::otlp::OtlpExporter> otlp;
  if (otlp_settings) {
    std::string otlp_error;
    otlp = credtrace::otlp::OtlpExporter::start(std::move(*otlp_settings), &otlp_error);
    if (!otlp) return fail(cc::Status::error("OTLP export: " + otlp_error));
    ingest.export_to(otlp.get());
    credtrace::log::info("exporting every stored event as OTLP log records to " + f.otlp_endpoint);
  }
  cc::QueryApi query(*store, metrics, f.max_answer_bytes);
  cc::UiServer ui(readers, ui_options(f));
  cc::Router router(ingest, query, *store, metrics, agents, readers,
                    cc::RouterOptions{f.max_body_bytes, !f.reader_tokens.empty(), !f.client_ca.empty()}, &ui);
  sigset_t signals = stop_signals();
  raise_file_limit(http.connections.max_connections);
  std::unique_ptr<cc::HttpServer> server;
  if (cc::Status s = cc::HttpServer::start(http, router, server); !s.ok()) return fail(s);
  metrics.set_extra_text([&server, &ui, &otlp] {
    return cc::connection_metrics_text(server->connection_counts()) + ui.metrics_text() + otlp_metrics_text(otlp.get());
  });
  cc::Retention retention(*store, metrics, f.retention_days);
  credtrace::log::info(std::string("listening on ") + (http.tls_cert_pem.empty() ? "http://" : "https://") +
                       http.listen.host + ":" + std::to_string(server->port()) + " (db " +
                       (f.db.starts_with("sqlite:") ? f.db : "postgres") + ", " + auth_summary(f, agents, readers) +
                       ")");
  if (f.ui)
    credtrace::log::info(std::string("web UI on ") + (http.tls_cert_pem.empty() ? "http://" : "https://") +
                         http.listen.host + ":" + std::to_string(server->port()) + "/ui/ (log in with a reader token)");
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  credtrace::log::info("stopping");
  return 0;
}


// A value given on the command line wins over the config file's: each flag the user gave is copied over it.
void copy_given_flags(const CLI::App& app, const Flags& given, Flags& out) {
  const std::map<std::string, std::function<void()>> copies = {
      {"--listen", [&] { out.listen = given.listen; }},
      {"--tls-cert", [&] { out.tls_cert = given.tls_cert; }},
      {"--tls-key", [&] { out.tls_key = given.tls_key; }},
      {"--client-ca", [&] { out.client_ca = given.client_ca; }},
      {"--agent-tokens", [&] { out.agent_tokens = given.agent_tokens; }},
      {"--reader-tokens", [&] { out.reader_tokens = given.reader_tokens; }},
      {"--db", [&] { out.db = given.db; }},
      {"--retention-days", [&] { out.retention_days = given.retention_days; }},
      {"--max-body-bytes", [&] { out.max_body_bytes = given.max_body_bytes; }},
      {"--max-decompressed-bytes", [&] { out.max_decompressed_bytes = given.max_decompressed_bytes; }},
      {"--max-batch-events", [&] { out.max_batch_events = given.max_batch_events; }},
      {"--threads", [&] { out.threads = given.threads; }},
      {"--sqlite-synchronous", [&] { out.sqlite_synchronous = given.sqlite_synchronous; }},
      {"--alert-max-age-days", [&] { out.alert_max_age_days = given.alert_max_age_days; }},
      {"--alert-max-jwt-ttl-seconds", [&] { out.alert_max_jwt_ttl_seconds = given.alert_max_jwt_ttl_seconds; }},
      {"--alert-allowlist", [&] { out.alert_allowlist = given.alert_allowlist; }},
      {"--ui", [&] { out.ui = given.ui; }},
      {"--otlp-endpoint", [&] { out.otlp_endpoint = given.otlp_endpoint; }},
  };
  for (const auto& [name, copy] : copies)
    if (app.count(name) > 0) copy();
  out.log = given.log;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"credtrace-collector: receives agent event batches, stores them, answers queries"};
  Flags flags;
  std::string config_path;
  bool check_config = false;
  add_flags(app, flags);
  app.add_option("--config", config_path, "YAML config file (flags given on the command line win over it)")
      ->check(CLI::ExistingFile);
  app.add_flag("--check-config", check_config, "validate the config file and flags, then exit (0 valid, 2 invalid)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  Flags settings;
  if (!config_path.empty()) {
    if (cc::Status s = cc::apply_config_file(config_path, settings); !s.ok()) {
      credtrace::log::error(s.message());
      return 2;
    }
  }
  copy_given_flags(app, flags, settings);
  if (check_config) {
    cc::HttpServerOptions http;
    cc::TokenSet agents, readers;
    cc::AlertConfig alerts;
    std::optional<credtrace::otlp::OtlpOptions> otlp;
    if (cc::Status s = check_settings(settings, http, agents, readers, alerts, otlp); !s.ok()) return fail(s);
    std::printf("%s: ok\n", config_path.empty() ? "flags" : config_path.c_str());
    return 0;
  }
  return run(settings);
}
