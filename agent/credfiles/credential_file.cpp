// Credential files end to end: format dispatch, safe read + parse of one file, and fingerprint export.
#include "credfiles/credential_file.h"

#include <algorithm>

#include "credfiles/parsers.h"
#include "credfiles/pem_blocks.h"
#include "credfiles/text_lines.h"

namespace credtrace::credfiles {
namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

// One line of content (an API key in "openai.key"): a pem file with no PEM block is read as a token.
bool is_single_line(std::string_view content) {
  std::string_view trimmed = detail::trim_blank(content);
  return !trimmed.empty() && trimmed.find('\n') == std::string_view::npos;
}

ParseResult parse_pem_or_token(std::string_view content) {
  if (detail::find_pem_blocks(content).empty() && is_single_line(content)) return parse_token_file(content);
  return parse_pem(content);
}

}  // namespace

ParseResult parse_credential_text(Format format, std::string_view path, std::string_view content) {
  if (content.starts_with(kUtf8Bom)) content.remove_prefix(kUtf8Bom.size());
  switch (format) {
    case Format::ini: return parse_ini(content);
    case Format::json: return parse_json(content);
    case Format::yaml: return parse_yaml(content);
    case Format::dotenv: return parse_dotenv(content);
    case Format::pem: return parse_pem_or_token(content);
    case Format::netrc: return parse_netrc(content);
    case Format::npmrc: return parse_npmrc(content);
    case Format::git_credentials: return parse_git_credentials(content);
    case Format::token: return parse_token_file(content);
    case Format::text: return parse_text(content);
    case Format::mcp_config: return parse_mcp_config(path, content);
  }
  return parse_text(content);
}

FileScan scan_credential_file(const std::string& path, const PathMatch& match, const ReadOptions& options) {
  FileScan scan;
  scan.path = path;
  scan.kind = match.kind;
  scan.format = match.format;
  ReadOptions effective = options;
  if (match.format == Format::mcp_config) {
    scan.client = mcp::detect_client(path);
    effective.max_bytes = std::max(options.max_bytes, kMinMcpConfigBytes);
  }
  ReadResult read = read_credential_file(path, effective);
  if (!read.ok()) {
    scan.error = read.error;
    scan.error_message = std::move(read.message);
    return scan;
  }
  ParseResult parsed = parse_credential_text(match.format, path, read.content.view());
  scan.findings = std::move(parsed.findings);
  if (!parsed.error.empty()) {
    scan.error = FileError::parse_error;
    scan.error_message = std::move(parsed.error);
  }
  return scan;
}

FileScan scan_mcp_config_file(const std::string& path, const ReadOptions& options) {
  return scan_credential_file(path, PathMatch{"", "mcp_config", Format::mcp_config}, options);
}

bool worth_reporting(const FileScan& scan) {
  return scan.error != FileError::none ||
         std::any_of(scan.findings.begin(), scan.findings.end(), [](const Finding& f) { return f.is_secret(); });
}

}  // namespace credtrace::credfiles
