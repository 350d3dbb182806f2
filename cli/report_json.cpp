// JSON output of `credtrace scan`: tool, fingerprint key, summary, findings, errors and the files scanned.
#include <ostream>

#include <nlohmann/json.hpp>

#include "scan_report.h"

namespace credtrace::cli {
namespace {

using Json = nlohmann::ordered_json;

Json finding_json(const ReportedFinding& f) {
  Json j = {{"path", f.path},
            {"line", f.line},
            {"kind", f.credential ? "credential" : "reference"},
            {"type", f.type},
            {"key", f.key}};
  if (f.credential) {
    j["preview"] = f.preview;
    j["fingerprint"] = f.fingerprint;
  } else {
    j["reference"] = f.reference;
  }
  j["file_kind"] = f.file_kind;
  j["format"] = f.format;
  if (!f.client.empty()) j["client"] = f.client;
  if (!f.server.empty()) j["server"] = f.server;
  return j;
}

Json file_json(const ReportedFile& f) {
  Json j = {{"path", f.path}, {"kind", f.kind}, {"format", f.format}};
  if (!f.client.empty()) j["client"] = f.client;
  j["credentials"] = f.credentials;
  j["references"] = f.references;
  if (!f.error.empty()) j["error"] = f.error;
  return j;
}

}  // namespace

void write_json(const ScanReport& report, std::ostream& out) {
  Json doc;
  doc["tool"] = {{"name", "credtrace"}, {"version", report.version}};
  doc["fingerprint_key"] = {{"source", report.key_source},
                            {"path", report.key_path},
                            {"fleet_comparable", report.key_fleet_comparable},
                            {"description", report.key_description}};
  doc["summary"] = {{"files_scanned", report.files.size()},
                    {"credentials", report.credential_count()},
                    {"references", report.reference_count()},
                    {"errors", report.errors.size()}};
  doc["findings"] = Json::array();
  for (const ReportedFinding& f : report.findings) doc["findings"].push_back(finding_json(f));
  doc["errors"] = Json::array();
  for (const ReportedError& e : report.errors) {
    doc["errors"].push_back({{"path", e.path}, {"error", e.error}, {"message", e.message}});
  }
  doc["files"] = Json::array();
  for (const ReportedFile& f : report.files) doc["files"].push_back(file_json(f));
  // Invalid UTF-8 in paths or keys is replaced, never a reason to fail the report.
  out << doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

}  // namespace credtrace::cli
