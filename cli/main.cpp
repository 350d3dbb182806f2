// credtrace command-line tool: CLI11 parsing for `scan` (exit 0 clean, 1 findings, 2 error) and the collector queries.
#include <iostream>
#include <map>
#include <string>

#include <CLI/CLI.hpp>

#include "logging/cli_flags.h"
#include "logging/log.h"
#include "query_commands.h"
#include "scan_command.h"

namespace {

using credtrace::cli::OutputFormat;
using credtrace::cli::QueryKind;
using credtrace::cli::QueryOptions;
using credtrace::cli::ScanOptions;

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
}

OutputFormat output_format(const std::string& name) {
  static const std::map<std::string, OutputFormat> kFormats = {
      {"text", OutputFormat::text}, {"json", OutputFormat::json}, {"sarif", OutputFormat::sarif}};
  return kFormats.at(name);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"credtrace: find hard-coded credentials in credential files and MCP client configs", "credtrace"};
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
  if (!scan->parsed()) return credtrace::cli::run_query(parsed_kind, query, std::cout);
  options.format = output_format(format);
  if (no_default_skip) options.skip_dirs.clear();
  options.skip_dirs.insert(options.skip_dirs.end(), extra_skips.begin(), extra_skips.end());
  return credtrace::cli::run_scan(options, std::cout);
}
