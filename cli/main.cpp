// credtrace command-line tool: argument parsing (CLI11) for `credtrace scan`; exit 0 clean, 1 findings, 2 error.
#include <iostream>
#include <map>
#include <string>

#include <CLI/CLI.hpp>

#include "scan_command.h"

namespace {

using credtrace::cli::OutputFormat;
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
  ScanOptions options;
  std::string format = "text";
  bool no_default_skip = false;
  std::vector<std::string> extra_skips;
  CLI::App* scan = app.add_subcommand(
      "scan", "Scan files and directories for credentials (exit 0 clean, 1 credentials found, 2 error)");
  add_scan_options(*scan, options, format, no_default_skip, extra_skips);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : credtrace::cli::kExitError;
  }
  options.format = output_format(format);
  if (no_default_skip) options.skip_dirs.clear();
  options.skip_dirs.insert(options.skip_dirs.end(), extra_skips.begin(), extra_skips.end());
  return credtrace::cli::run_scan(options, std::cout, std::cerr);
}
