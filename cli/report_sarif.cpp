// SARIF 2.1.0 output of `credtrace scan`: one rule per credential type, one result per credential, per-file
// errors as tool execution notifications.
#include <map>
#include <ostream>

#include <nlohmann/json.hpp>

#include "scan_report.h"

namespace credtrace::cli {
namespace {

using Json = nlohmann::ordered_json;

constexpr const char* kSarifSchema = "https://json.schemastore.org/sarif-2.1.0.json";

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~' || c == '/';
}

// A relative path stays relative (resolved against the scanned checkout); an absolute one becomes file:///….
std::string artifact_uri(const std::string& path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string encoded;
  for (unsigned char c : path) {
    if (is_unreserved(c)) {
      encoded.push_back(static_cast<char>(c));
    } else {
      encoded += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return path.starts_with('/') ? "file://" + encoded : encoded;
}

std::string rule_id(const std::string& type) { return "credtrace/" + type; }

Json rule_json(const std::string& type) {
  return {{"id", rule_id(type)},
          {"shortDescription", {{"text", "Hard-coded credential: " + type}}},
          {"fullDescription",
           {{"text", "A " + type + " credential is written in a file (a credential file, .env or MCP client "
                                   "config). Move it to a secret store or reference it (${VAR})."}}},
          {"defaultConfiguration", {{"level", "error"}}},
          {"properties", {{"credentialType", type}}}};
}

Json physical_location(const std::string& path, int line) {
  Json location = {{"artifactLocation", {{"uri", artifact_uri(path)}}}};
  location["region"] = {{"startLine", line > 0 ? line : 1}};
  return {{"physicalLocation", location}};
}

std::string result_message(const ReportedFinding& f) {
  std::string text = "Hard-coded " + f.type + " credential " + f.preview + " at " + f.key;
  if (!f.server.empty()) text += " (MCP server \"" + f.server + "\"" + (f.client.empty() ? "" : ", " + f.client) + ")";
  return text + "; fingerprint " + f.fingerprint + ".";
}

Json result_json(const ReportedFinding& f, size_t rule_index) {
  Json properties = {{"type", f.type}, {"key", f.key}, {"preview", f.preview}, {"fingerprint", f.fingerprint},
                     {"fileKind", f.file_kind}};
  if (!f.client.empty()) properties["client"] = f.client;
  if (!f.server.empty()) properties["server"] = f.server;
  return {{"ruleId", rule_id(f.type)},
          {"ruleIndex", rule_index},
          {"level", "error"},
          {"message", {{"text", result_message(f)}}},
          {"locations", Json::array({physical_location(f.path, f.line)})},
          {"partialFingerprints", {{"credtraceFingerprint/v1", f.fingerprint}}},
          {"properties", properties}};
}

Json notification_json(const ReportedError& e) {
  Json location = {{"physicalLocation", {{"artifactLocation", {{"uri", artifact_uri(e.path)}}}}}};
  return {{"level", "error"},
          {"message", {{"text", e.path + ": " + e.message}}},
          {"descriptor", {{"id", e.error}}},
          {"locations", Json::array({location})}};
}

}  // namespace

void write_sarif(const ScanReport& report, std::ostream& out) {
  std::map<std::string, size_t> rule_index;  // type → index in rules[], in order of first use
  Json rules = Json::array();
  Json results = Json::array();
  for (const ReportedFinding& f : report.findings) {
    if (!f.credential) continue;  // references are not results (see README: credtrace scan)
    auto [it, added] = rule_index.emplace(f.type, rules.size());
    if (added) rules.push_back(rule_json(f.type));
    results.push_back(result_json(f, it->second));
  }
  Json notifications = Json::array();
  for (const ReportedError& e : report.errors) notifications.push_back(notification_json(e));

  Json driver = {{"name", "credtrace"}, {"version", report.version}, {"semanticVersion", report.version},
                 {"rules", rules}};
  Json invocation = {{"executionSuccessful", true}, {"toolExecutionNotifications", notifications}};
  Json run = {{"tool", {{"driver", driver}}},
              {"invocations", Json::array({invocation})},
              {"results", results},
              {"properties",
               {{"fingerprintKey",
                 {{"source", report.key_source}, {"fleetComparable", report.key_fleet_comparable},
                  {"description", report.key_description}}},
                {"filesScanned", report.files.size()},
                {"references", report.reference_count()}}}};
  Json doc = {{"$schema", kSarifSchema}, {"version", "2.1.0"}, {"runs", Json::array({run})}};
  out << doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

}  // namespace credtrace::cli
