// Scan report assembly: file scans become printable entries (fingerprint + preview); raw values are dropped.
#include "scan_report.h"

#include "events/credential_facts.h"

#include <algorithm>

namespace credtrace::cli {
namespace {

ReportedFinding reported(const credfiles::Finding& finding, const credfiles::FileScan& scan) {
  ReportedFinding out;
  out.path = scan.path;
  out.line = finding.line;
  out.credential = finding.is_secret();
  out.key = finding.key;
  out.type = finding.type;
  out.reference = finding.reference;
  out.file_kind = scan.kind;
  out.format = std::string(credfiles::format_name(scan.format));
  if (scan.format == credfiles::Format::mcp_config) out.client = std::string(mcp::client_name(scan.client));
  out.server = finding.server;
  return out;
}

}  // namespace

size_t ScanReport::credential_count() const {
  return static_cast<size_t>(std::count_if(findings.begin(), findings.end(), [](const auto& f) { return f.credential; }));
}

size_t ScanReport::reference_count() const { return findings.size() - credential_count(); }

ScanReport new_report(const FingerprintKey& key) {
  ScanReport report;
  report.version = CREDTRACE_VERSION;
  report.key_description = describe(key);
  report.key_source = key.source;
  report.key_path = key.path;
  report.key_fleet_comparable = key.fleet_comparable;
  return report;
}

void add_file_scan(ScanReport& report, credfiles::FileScan scan, const secrets::Fingerprinter& fingerprinter) {
  ReportedFile file;
  file.path = scan.path;
  file.kind = scan.kind;
  file.format = std::string(credfiles::format_name(scan.format));
  if (scan.format == credfiles::Format::mcp_config) file.client = std::string(mcp::client_name(scan.client));
  for (const credfiles::Finding& finding : scan.findings) {
    ReportedFinding entry = reported(finding, scan);
    if (finding.is_secret()) {
      credtrace::v1::Credential exported =
          events::describe_credential(fingerprinter, finding.value.view(), finding.type, finding.prefix_len);
      entry.fingerprint = exported.fingerprint();
      entry.preview = exported.preview();
      ++file.credentials;
    } else {
      ++file.references;
    }
    report.findings.push_back(std::move(entry));
  }
  if (scan.error != credfiles::FileError::none) {
    file.error = std::string(credfiles::file_error_name(scan.error));
    file.error_message = scan.error_message;
    add_error(report, scan.path, scan.error, scan.error_message);
  }
  report.files.push_back(std::move(file));
}

void add_error(ScanReport& report, std::string path, credfiles::FileError error, std::string message) {
  report.errors.push_back({std::move(path), std::string(credfiles::file_error_name(error)), std::move(message)});
}

}  // namespace credtrace::cli
