// git-credentials parser: one "scheme://user:password@host/path" URL per line (git credential-store format).
#include <string>

#include "credfiles/parsers.h"
#include "credfiles/text_lines.h"
#include "credfiles/value_rules.h"
#include "secrets/detectors.h"
#include "secrets/placeholders.h"

namespace credtrace::credfiles {
namespace {

using detail::trim_blank;

struct CredentialUrl {
  std::string_view scheme;     // "https"
  std::string_view user;       // percent-encoded
  std::string_view password;   // percent-encoded; empty when absent
  std::string_view host_path;  // "github.com", "gitlab.example.com:8443/group"
};

bool split_url(std::string_view line, CredentialUrl& url) {
  size_t scheme_end = line.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0) return false;
  url.scheme = line.substr(0, scheme_end);
  std::string_view rest = line.substr(scheme_end + 3);
  size_t at = rest.rfind('@', rest.find('/'));  // userinfo ends at the last '@' before the path
  if (at == std::string_view::npos) return false;
  std::string_view userinfo = rest.substr(0, at);
  url.host_path = rest.substr(at + 1);
  size_t colon = userinfo.find(':');
  url.user = userinfo.substr(0, colon);
  url.password = colon == std::string_view::npos ? std::string_view() : userinfo.substr(colon + 1);
  return !url.host_path.empty();
}

void read_line(detail::FindingCollector& collector, std::string_view raw, int number) {
  std::string_view line = trim_blank(raw);
  if (line.empty() || line.front() == '#') return;
  CredentialUrl url;
  if (!split_url(line, url)) {
    collector.add_error("line " + std::to_string(number) + ": not a scheme://user:password@host URL");
    return;
  }
  std::string base = std::string(url.scheme) + "://" + std::string(url.host_path);
  std::string password = detail::percent_decode(url.password);
  std::string user = detail::percent_decode(url.user);
  if (!user.empty() && secrets::classify_value(user)) {
    collector.judge(base + ".user", "token", user, number);  // a token given as the user name
  }
  // "x-oauth-basic" is GitHub's fixed password for a token given as the user name.
  if (!password.empty() && password != "x-oauth-basic") collector.judge(base + ".password", "password", password, number);
  detail::wipe(password);
  detail::wipe(user);
}

}  // namespace

ParseResult parse_git_credentials(std::string_view text) {
  detail::FindingCollector collector;
  detail::TextLines lines(text);
  std::string_view line;
  while (lines.next(line)) read_line(collector, line, lines.number());
  return collector.take();
}

}  // namespace credtrace::credfiles
