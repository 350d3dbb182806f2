// The scan report: what may be printed (types, previews, fingerprints, references, errors), never raw values.
#pragma once

#include <cstddef>
#include <ostream>
#include <string>
#include <vector>

#include "credfiles/credential_file.h"
#include "fingerprint_key.h"

namespace credtrace::cli {

struct ReportedFinding {
  std::string path;
  int line = 0;
  bool credential = true;  // false: a reference (or placeholder) where a credential would be
  std::string key;         // field path inside the file
  std::string type;
  std::string preview;      // credentials only
  std::string fingerprint;  // credentials only
  std::string reference;    // references only ("" for a placeholder)
  std::string file_kind;    // "aws_credentials", "mcp_config", …
  std::string format;       // parser: "ini", "json", …
  std::string client;       // MCP configs: "cursor", "vscode", …
  std::string server;       // MCP configs: the server entry
};

struct ReportedFile {
  std::string path;
  std::string kind;
  std::string format;
  std::string client;
  size_t credentials = 0;
  size_t references = 0;
  std::string error;          // file_error_name, "" when none
  std::string error_message;
};

struct ReportedError {
  std::string path;
  std::string error;  // file_error_name
  std::string message;
};

struct ScanReport {
  std::string version;
  std::string key_description;
  std::string key_source;
  std::string key_path;
  bool key_fleet_comparable = false;
  std::vector<ReportedFile> files;
  std::vector<ReportedFinding> findings;  // credentials and references, in file order
  std::vector<ReportedError> errors;      // per-file problems (also directories that could not be listed)
  size_t credential_count() const;
  size_t reference_count() const;
};

// Starts a report that says which fingerprint key is in use.
ScanReport new_report(const FingerprintKey& key);

// Adds one scanned file: credentials are fingerprinted here and the raw values dropped with `scan`.
void add_file_scan(ScanReport& report, credfiles::FileScan scan, const secrets::Fingerprinter& fingerprinter);

void add_error(ScanReport& report, std::string path, credfiles::FileError error, std::string message);

void write_text(const ScanReport& report, std::ostream& out);
void write_json(const ScanReport& report, std::ostream& out);
void write_sarif(const ScanReport& report, std::ostream& out);

}  // namespace credtrace::cli
