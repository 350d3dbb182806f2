// Text output of `credtrace scan`: one line per credential, reference and error, then a summary.
#include <ostream>

#include "scan_report.h"

namespace credtrace::cli {
namespace {

std::string location(const std::string& path, int line) {
  return line > 0 ? path + ":" + std::to_string(line) : path;
}

std::string mcp_context(const ReportedFinding& f) {
  if (f.client.empty() && f.server.empty()) return "";
  std::string text = " [";
  if (!f.client.empty()) text += f.client;
  if (!f.server.empty()) text += (f.client.empty() ? "" : " ") + std::string("server \"") + f.server + "\"";
  return text + "]";
}

void write_finding(const ReportedFinding& f, std::ostream& out) {
  if (f.credential) {
    out << location(f.path, f.line) << ": credential " << f.type << " " << f.preview << " at " << f.key
        << mcp_context(f) << " fingerprint " << f.fingerprint << "\n";
  } else {
    out << location(f.path, f.line) << ": reference at " << f.key << mcp_context(f) << ": "
        << (f.reference.empty() ? "placeholder" : f.reference) << "\n";
  }
}

}  // namespace

void write_text(const ScanReport& report, std::ostream& out) {
  out << "credtrace scan " << report.version << ": " << report.key_description << "\n";
  for (const ReportedFinding& f : report.findings) write_finding(f, out);
  for (const ReportedError& e : report.errors) out << e.path << ": error (" << e.error << "): " << e.message << "\n";
  out << report.files.size() << " files scanned, " << report.credential_count() << " credentials, "
      << report.reference_count() << " references, " << report.errors.size() << " errors\n";
}

}  // namespace credtrace::cli
