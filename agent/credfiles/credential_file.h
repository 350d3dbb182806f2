// Public API of credential files: parse content by format, scan one file (read + parse), export fingerprints.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "credfiles/finding.h"
#include "credfiles/path_patterns.h"
#include "credfiles/safe_read.h"
#include "mcp/client_config.h"
#include "secrets/fingerprint.h"

namespace credtrace::credfiles {

// MCP client configs are read with at least this cap (~/.claude.json keeps history and grows past 1 MiB).
inline constexpr size_t kMinMcpConfigBytes = 4 << 20;

// Parses `content` with the format's parser. `path` only matters for mcp_config (client and JSON/YAML shape).
// A pem file with no PEM block whose content is one line (an API key in "x.key") is parsed as a token.
// A UTF-8 byte-order mark is skipped. Never throws.
ParseResult parse_credential_text(Format format, std::string_view path, std::string_view content);

// The result of scanning one file. Findings hold raw values: export them, then drop the scan.
struct FileScan {
  std::string path;
  std::string kind;  // PathMatch::kind
  Format format = Format::text;
  mcp::Client client = mcp::Client::unknown;  // for mcp_config: the client detect_client() names
  std::vector<Finding> findings;
  FileError error = FileError::none;  // read error, or parse_error (findings before the problem are kept)
  std::string error_message;          // "" when error is none; never quotes the content
};

// Reads `path` safely (ReadOptions; MCP configs with at least kMinMcpConfigBytes) and parses it as `match` says.
// For a file a watched process opened: match_credential_path(path, patterns), then this with
// options.root = "/proc/PID/root".
FileScan scan_credential_file(const std::string& path, const PathMatch& match, const ReadOptions& options);

// Hard-coded credentials and references in one MCP client config file (for config_exposure events):
// scan_credential_file with Format::mcp_config. Findings carry the server name and the field path
// ("mcpServers.github.env.GITHUB_TOKEN"); secrets outside server entries (e.g. "primaryApiKey") have no server.
FileScan scan_mcp_config_file(const std::string& path, const ReadOptions& options);

// Whether a scan of a file a watched process opened is worth a secret_read event: it holds a credential, or the
// file could not be (fully) read or parsed. A file read cleanly with no credential in it (a CA bundle: certificates
// only; a .env of plain settings or ${VAR} references) is not news: the agent only counts it.
bool worth_reporting(const FileScan& scan);

}  // namespace credtrace::credfiles
