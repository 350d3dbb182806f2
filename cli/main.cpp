// credtrace-cli, the full command-line tool behind the `credtrace` launcher: CLI11 parsing for `scan` (exit 0 clean,
// 1 findings, 2 error), the collector queries, `wrap`, `preload host-wide` and `run` (after global flags).
#include <cstring>
#include <iostream>
#include <map>
#include <string>

#include <CLI/CLI.hpp>

#include "logging/cli_flags.h"
#include "logging/log.h"
#include "host_preload.h"
#include "query_commands.h"
#include "run_command.h"
#include "scan_command.h"
#include "wrap_command.h"

namespace {

using credtrace::cli::OutputFormat;
using credtrace::cli::QueryKind;
using credtrace::cli::QueryOptions;
using credtrace::cli::ScanOptions;
using credtrace::cli::HostPreloadOptions;
using credtrace::cli::WrapOptions;

void add_scan_options(CLI::App& scan, ScanOptions& options, std::string& format, bool& no_default_skip,
                      std::vector<std::string>& extra_skips) {
  scan.add_option("paths", options.paths,
                  "Files and directories to scan (directories recursively). Default: the current user's MCP "
                  "client configs and credential files in $HOME");
  scan.add_option("--format", format, "Output format: text, json or sarif (SARIF 2.1.0)")
      ->check(CLI::IsMember({"text", "json", "sarif"}))
      ->capture_default_str();
  scan.add_option("--fingerprint-key-file", options.fingerprint_key_file,
                  "Fleet fingerprint key (hex, mode 0600), so fingerprints match the agent's. Default: "
                  "$CREDTRACE_FINGERPRINT_KEY_FILE, else a random key for this run");
  scan.add_option("--max-file-size", options.max_file_bytes, "Largest file read, in bytes (MCP configs: >= 4 MiB)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  scan.add_option("--skip-dir", extra_skips, "Directory name not to descend into (repeatable; adds to the defaults)");
  scan.add_flag("--no-default-skip", no_default_skip, "Also descend into .git and node_modules");
}

// Options every query command has: where the collector is, the token, paging and the output form.
void add_query_options(CLI::App& cmd, QueryOptions& q) {
  cmd.add_option("--collector", q.collector, "Collector URL, e.g. https://collector:8787. Default: $CREDTRACE_COLLECTOR");
  cmd.add_option("--token-file", q.token_file,
                 "File holding a reader token (first line that is not a # comment). Default: $CREDTRACE_TOKEN, "
                 "else the file $CREDTRACE_TOKEN_FILE");
  cmd.add_option("--collector-ca", q.ca_file, "CA bundle (PEM) for an https collector. Default: $CREDTRACE_COLLECTOR_CA");
  cmd.add_option("--timeout", q.timeout_seconds, "Seconds per request")->check(CLI::Range(1L, 3600L))->capture_default_str();
  cmd.add_flag("--json", q.json, "Print the collector's JSON (pages merged with --all) instead of a table");
  cmd.add_option("--limit", q.limit, "Page size, 1-1000 (default: the collector's, 100)")->check(CLI::Range(1, 1000));
  cmd.add_option("--cursor", q.cursor, "Start at this next_cursor of an earlier page");
  cmd.add_flag("--all", q.all, "Follow next_cursor to the last page");
}

void add_query_commands(CLI::App& app, QueryOptions& q, QueryKind& kind) {
  CLI::App* credentials = app.add_subcommand(
      "credentials", "Credentials a collector has seen (FINGERPRINT: one credential's sources, workloads, destinations)");
  add_query_options(*credentials, q);
  credentials->add_option("fingerprint", q.fingerprint, "Show this credential in detail (64 hex digits)");
  credentials->add_option("--type", q.type, "Only this credential type (e.g. github_pat)");
  credentials->add_option("--workload", q.workload, "Only credentials seen in this workload: its id (wl_...) or a name (MCP server, systemd unit, container id, namespace/pod or pod); a name takes every workload it names");
  credentials->add_option("--host", q.host, "Only credentials seen on this host");
  credentials->callback([&kind] { kind = QueryKind::credentials; });

  CLI::App* uses = app.add_subcommand("uses", "Credential uses (credential_use events), newest first");
  add_query_options(*uses, q);
  uses->add_option("--fingerprint", q.fingerprint, "Only uses of this credential");
  uses->add_option("--workload", q.workload, "Only uses by this workload: its id or a name (as for credentials --workload)");
  uses->add_option("--host", q.host, "Only uses on this host");
  uses->add_option("--since", q.since, "From this time (RFC 3339 or Unix seconds)");
  uses->add_option("--until", q.until, "Up to this time (RFC 3339 or Unix seconds)");
  uses->callback([&kind] { kind = QueryKind::uses; });

  CLI::App* alerts = app.add_subcommand("alerts", "Alerts raised by the collector, newest first");
  add_query_options(*alerts, q);
  alerts->add_option("--kind", q.kind,
                     "Only this kind: shared_key, long_lived, long_lived_jwt, hard_coded, plain_http, "
                     "destination_not_allowed, secret_in_tool_io, credential_relayed, token_passthrough, "
                     "audience_mismatch, tool_definition_changed");
  alerts->add_option("--fingerprint", q.fingerprint, "Only alerts about this credential");
  alerts->add_option("--type", q.type, "Only this credential type");
  alerts->add_option("--workload", q.workload, "Only alerts involving this workload: its id or a name (as for credentials --workload)");
  alerts->add_option("--since", q.since, "Last seen from this time (RFC 3339 or Unix seconds)");
  alerts->callback([&kind] { kind = QueryKind::alerts; });

  CLI::App* calls = app.add_subcommand(
      "calls", "MCP tool calls the agents saw (method, tool, outcome, duration, the credentials each used), newest first");
  add_query_options(*calls, q);
  calls->add_option("--server", q.server, "Only calls to this MCP server (its serverInfo name, else its config name)");
  calls->add_option("--tool", q.tool, "Only calls of this tool (e.g. create_issue)");
  calls->add_option("--client", q.client, "Only calls from this client (clientInfo name, e.g. claude-code)");
  calls->add_option("--workload", q.workload, "Only calls to this workload: its id or a name (as for credentials --workload)");
  calls->add_option("--fingerprint", q.fingerprint, "Only calls that used or carried this credential (64 hex digits)");
  calls->add_option("--outcome", q.outcome, "Only this outcome: ok, tool_error, jsonrpc_error, no_answer, unknown")
      ->check(CLI::IsMember({"ok", "tool_error", "jsonrpc_error", "no_answer", "unknown"}));
  calls->add_option("--since", q.since, "From this time (RFC 3339 or Unix seconds)");
  calls->add_option("--until", q.until, "Up to this time (RFC 3339 or Unix seconds)");
  calls->callback([&kind] { kind = QueryKind::calls; });

  CLI::App* workloads = app.add_subcommand(
      "workloads", "Workloads (MCP servers and other processes) a collector has seen, with their TLS coverage: "
                   "whether the plaintext of every TLS implementation in them is captured");
  add_query_options(*workloads, q);
  workloads->add_option("--host", q.host, "Only workloads on this host");
  workloads->add_option("--workload", q.workload,
                        "Only this workload: its id or a name (as for credentials --workload)");
  workloads->add_option("--tls-coverage", q.tls_coverage,
                        "Only this TLS coverage: covered, partial, not_covered, none_found, unknown (no report)")
      ->check(CLI::IsMember({"covered", "partial", "not_covered", "none_found", "unknown"}));
  workloads->callback([&kind] { kind = QueryKind::workloads; });
}

// `run` in the help. `credtrace run ...` never reaches CLI11: the launcher runs it, and here run_index() finds it
// after the global flags (`credtrace --log-level debug run ...`).
void add_run_command(CLI::App& app) {
  CLI::App* run = app.add_subcommand(
      "run", "Run a command with libcredtrace-preload.so in LD_PRELOAD; becomes the command (execvp): "
             "[--name NAME] [--preload PATH] -- CMD ARGS... (credtrace run --help)");
  run->fallthrough(false);
  run->prefix_command();
  run->allow_extras();
  run->set_help_flag();
}

// The argv index of `run` when only global --log-* flags come before it, else 0.
int run_index(int argc, char** argv) {
  int i = 1;
  while (i < argc && std::strncmp(argv[i], "--log-", 6) == 0) i += std::strchr(argv[i], '=') != nullptr ? 1 : 2;
  return i < argc && std::strcmp(argv[i], "run") == 0 ? i : 0;
}

CLI::App* add_wrap_command(CLI::App& app, WrapOptions& wrap) {
  CLI::App* cmd = app.add_subcommand(
      "wrap", "Rewrite an MCP client config (JSON) so its stdio servers start through `credtrace run` (exit 0, 2 error)");
  cmd->add_option("config", wrap.config, "The client config: mcpServers, servers, context_servers, projects.*.mcpServers")
      ->required();
  cmd->add_flag("--undo", wrap.undo, "Put back the command and args of every server wrap wrapped");
  cmd->add_flag("--dry-run", wrap.dry_run, "Print what would change; write nothing");
  cmd->add_option("--credtrace", wrap.credtrace, "The credtrace executable to write as command. Default: this one");
  return cmd;
}

CLI::App* add_preload_command(CLI::App& app, HostPreloadOptions& host) {
  CLI::App* preload = app.add_subcommand("preload", "The preload sensor's host-wide mode (/etc/ld.so.preload)");
  preload->require_subcommand(1);
  CLI::App* host_wide = preload->add_subcommand(
      "host-wide", "enable|disable|status: the libcredtrace-preload.so line of /etc/ld.so.preload (opt-in; "
                   "every process on the host loads it: docs/preload.md)");
  host_wide->add_option("action", host.action, "enable, disable or status")
      ->required()
      ->check(CLI::IsMember({"enable", "disable", "status"}));
  host_wide->add_option("--file", host.file, "The preload file")->capture_default_str();
  host_wide->add_option("--preload", host.preload,
                        "The library (enable). Default: $CREDTRACE_PRELOAD_LIB, else the install locations");
  return preload;
}

OutputFormat output_format(const std::string& name) {
  static const std::map<std::string, OutputFormat> kFormats = {
      {"text", OutputFormat::text}, {"json", OutputFormat::json}, {"sarif", OutputFormat::sarif}};
  return kFormats.at(name);
}

}  // namespace

int main(int argc, char** argv) {
  if (int run = run_index(argc, argv); run > 0) return credtrace::cli::run_command(argc - run, argv + run);
  CLI::App app{"credtrace: find hard-coded credentials in credential files and MCP client configs, query a collector, "
                "start MCP servers under the preload sensor (run, wrap, preload host-wide)",
                "credtrace"};
  app.set_version_flag("--version", std::string(CREDTRACE_VERSION));
  app.require_subcommand(1);
  app.fallthrough();  // the --log-* flags may also follow the subcommand
  credtrace::log::Flags log_flags;
  credtrace::log::add_flags(app, log_flags, false, "");
  ScanOptions options;
  std::string format = "text";
  bool no_default_skip = false;
  std::vector<std::string> extra_skips;
  CLI::App* scan = app.add_subcommand(
      "scan", "Scan files and directories for credentials (exit 0 clean, 1 credentials found, 2 error)");
  add_scan_options(*scan, options, format, no_default_skip, extra_skips);
  QueryOptions query;
  QueryKind parsed_kind = QueryKind::credentials;
  add_query_commands(app, query, parsed_kind);
  add_run_command(app);
  WrapOptions wrap_options;
  CLI::App* wrap = add_wrap_command(app, wrap_options);
  HostPreloadOptions host_options;
  CLI::App* preload = add_preload_command(app, host_options);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : credtrace::cli::kExitError;
  }
  credtrace::log::Options log_options;
  log_options.component = "credtrace " + app.get_subcommands().front()->get_name();  // "credtrace scan: error: …"
  log_options.timestamps = false;  // a command's messages, read as it runs
  credtrace::log::configure(log_flags.applied_to(std::move(log_options)));
  if (wrap->parsed()) return credtrace::cli::run_wrap(wrap_options, std::cout);
  if (preload->parsed()) return credtrace::cli::run_host_preload(host_options, std::cout);
  if (!scan->parsed()) return credtrace::cli::run_query(parsed_kind, query, std::cout);
  options.format = output_format(format);
  if (no_default_skip) options.skip_dirs.clear();
  options.skip_dirs.insert(options.skip_dirs.end(), extra_skips.begin(), extra_skips.end());
  return credtrace::cli::run_scan(options, std::cout);
}
