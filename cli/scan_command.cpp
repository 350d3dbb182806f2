// `credtrace scan`: choose the key, collect targets, scan each file, write the report, pick the exit code.
#include "scan_command.h"

#include <exception>

#include "credfiles/credential_file.h"
#include "logging/log.h"
#include "scan_report.h"
#include "scan_targets.h"

namespace credtrace::cli {
namespace {

TargetList collect_targets(const ScanOptions& options, const WalkRules& rules, bool& failed) {
  if (!options.paths.empty()) return targets_for_paths(options.paths, rules);
  std::string home = current_home();
  if (home.empty()) {
    log::error("no path given and no home directory known ($HOME unset)");
    failed = true;
    return {};
  }
  return targets_in_home(home, rules);
}

void write_report(const ScanReport& report, OutputFormat format, std::ostream& out) {
  switch (format) {
    case OutputFormat::text: return write_text(report, out);
    case OutputFormat::json: return write_json(report, out);
    case OutputFormat::sarif: return write_sarif(report, out);
  }
}

int scan(const ScanOptions& options, std::ostream& out) {
  FingerprintKey key = choose_fingerprint_key(options.fingerprint_key_file);
  if (!key.fingerprinter) {
    log::error(key.error);
    return kExitError;
  }
  const std::vector<credfiles::PathPattern> patterns = credfiles::default_credential_path_patterns();
  WalkRules rules{&patterns, options.skip_dirs};
  bool failed = false;
  TargetList targets = collect_targets(options, rules, failed);
  if (failed) return kExitError;

  ScanReport report = new_report(key);
  credfiles::ReadOptions read_options;
  read_options.max_bytes = options.max_file_bytes;
  bool missing_path = false;
  for (const TargetProblem& problem : targets.problems) {
    add_error(report, problem.path, problem.error, problem.message);
    missing_path = missing_path || problem.fatal;
  }
  for (const ScanTarget& target : targets.targets) {
    add_file_scan(report, credfiles::scan_credential_file(target.path, target.match, read_options), *key.fingerprinter);
  }
  write_report(report, options.format, out);
  out.flush();
  if (missing_path) return kExitError;
  return report.credential_count() > 0 ? kExitFindings : kExitClean;
}

}  // namespace

int run_scan(const ScanOptions& options, std::ostream& out) {
  try {
    return scan(options, out);
  } catch (const std::exception& e) {
    log::error(std::string("internal error: ") + e.what());
  } catch (...) {
    log::error("internal error");
  }
  return kExitError;
}

}  // namespace credtrace::cli
