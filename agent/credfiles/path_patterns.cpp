// Credential path patterns: the default globs (one line each, with what they find) and component-wise matching.
#include "credfiles/path_patterns.h"

#include <fnmatch.h>

#include <string>

namespace credtrace::credfiles {
namespace {

std::vector<std::string> components(std::string_view path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view part = path.substr(start, slash - start);
    if (!part.empty() && part != ".") out.emplace_back(part);
    start = slash + 1;
  }
  return out;
}

bool component_matches(const std::string& glob, const std::string& name) {
  return ::fnmatch(glob.c_str(), name.c_str(), 0) == 0;
}

// Pattern components [pi..] against path components [qi..], '**' matching any number of components.
bool match_from(const std::vector<std::string>& pattern, size_t pi, const std::vector<std::string>& path, size_t qi) {
  if (pi == pattern.size()) return qi == path.size();
  if (pattern[pi] == "**") {
    for (size_t skip = qi; skip <= path.size(); ++skip) {
      if (match_from(pattern, pi + 1, path, skip)) return true;
    }
    return false;
  }
  return qi < path.size() && component_matches(pattern[pi], path[qi]) && match_from(pattern, pi + 1, path, qi + 1);
}

PathPattern mcp(std::string glob) { return {std::move(glob), "mcp_config", Format::mcp_config}; }

}  // namespace

std::vector<PathPattern> default_credential_path_patterns() {
  return {
      // Public halves of SSH key pairs sit next to the private keys and are not credentials.
      {"!~/.ssh/*.pub", "ssh_public_key", Format::text},
      // MCP client configs (the files agent/mcp's detect_client knows).
      mcp("claude_desktop_config.json"),          // Claude Desktop
      mcp(".claude.json"),                        // Claude Code user/local scope
      mcp(".mcp.json"),                           // Claude Code project scope
      mcp("managed-mcp.json"),                    // Claude Code managed settings
      mcp(".cursor/mcp.json"),                    // Cursor (user and project)
      mcp(".vscode/mcp.json"),                    // VS Code workspace
      mcp("User/mcp.json"),                       // VS Code (Code, Insiders, VSCodium) user profile
      mcp("User/profiles/*/mcp.json"),            // VS Code named profiles
      mcp("windsurf/mcp_config.json"),            // Windsurf
      mcp("cline_mcp_settings.json"),             // Cline (any editor's globalStorage, or ~/.cline)
      mcp(".gemini/settings.json"),               // Gemini CLI (user and project)
      mcp("zed/settings.json"),                   // Zed user settings
      mcp(".zed/settings.json"),                  // Zed project settings
      mcp(".continue/config.yaml"),               // Continue
      mcp(".continue/config.yml"),
      mcp(".continue/mcpServers/*.yaml"),         // Continue per-server blocks
      mcp(".continue/mcpServers/*.yml"),
      mcp(".continue/mcpServers/*.json"),
      // Cloud and tool credential files.
      {"~/.aws/credentials", "aws_credentials", Format::ini},
      {"~/.aws/config", "aws_config", Format::ini},
      {"~/.config/gh/hosts.yml", "gh_hosts", Format::yaml},
      {"~/.docker/config.json", "docker_config", Format::json},
      {"~/.kube/config", "kubeconfig", Format::yaml},
      {"*.kubeconfig", "kubeconfig", Format::yaml},
      {"/etc/kubernetes/*.conf", "kubeconfig", Format::yaml},  // admin.conf, kubelet.conf
      {".netrc", "netrc", Format::netrc},
      {"_netrc", "netrc", Format::netrc},
      {".npmrc", "npmrc", Format::npmrc},  // user and project .npmrc
      {".pypirc", "pypirc", Format::ini},
      {".git-credentials", "git_credentials", Format::git_credentials},
      {"~/.config/git/credentials", "git_credentials", Format::git_credentials},
      {"~/.config/gcloud/application_default_credentials.json", "gcloud_adc", Format::json},
      {"~/.config/gcloud/legacy_credentials/*/adc.json", "gcloud_adc", Format::json},
      {"*service-account*.json", "gcloud_service_account", Format::json},
      {"*service_account*.json", "gcloud_service_account", Format::json},
      {"~/.azure/msal_token_cache.json", "azure_token_cache", Format::json},
      {"~/.azure/accessTokens.json", "azure_token_cache", Format::json},
      {"~/.azure/service_principal_entries.json", "azure_service_principal", Format::json},
      {"~/.ssh/id_*", "ssh_private_key", Format::pem},
      {"*.pem", "pem", Format::pem},
      {"*.key", "private_key_file", Format::pem},
      {"/var/run/secrets/kubernetes.io/serviceaccount/token", "kubernetes_sa_token", Format::token},
      {"/run/secrets/kubernetes.io/serviceaccount/token", "kubernetes_sa_token", Format::token},
      {"/run/secrets/*", "container_secret", Format::token},  // Docker/Compose secrets
      {"/var/run/secrets/*", "container_secret", Format::token},
      {".env*", "dotenv", Format::dotenv},  // .env, .env.local, .env.production, .envrc
  };
}

bool path_glob_matches(std::string_view glob, std::string_view path) {
  bool anchored = glob.starts_with('/');
  if (glob.starts_with("~/")) glob.remove_prefix(2);
  std::vector<std::string> pattern = components(glob);
  std::vector<std::string> parts = components(path);
  if (pattern.empty()) return false;
  if (anchored) return path.starts_with('/') && match_from(pattern, 0, parts, 0);
  for (size_t start = 0; start < parts.size(); ++start) {
    if (match_from(pattern, 0, parts, start)) return true;
  }
  return false;
}

std::optional<PathMatch> match_credential_path(std::string_view path, const std::vector<PathPattern>& patterns) {
  for (const PathPattern& p : patterns) {
    if (p.glob.starts_with('!') && path_glob_matches(std::string_view(p.glob).substr(1), path)) return std::nullopt;
  }
  for (const PathPattern& p : patterns) {
    if (!p.glob.starts_with('!') && path_glob_matches(p.glob, path)) return PathMatch{p.glob, p.kind, p.format};
  }
  return std::nullopt;
}

}  // namespace credtrace::credfiles
