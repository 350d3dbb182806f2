// URL secret locations: userinfo passwords and secret-named query parameter values.
#include "secrets/url_secrets.h"

#include <algorithm>
#include <array>
#include <string>

namespace credtrace::secrets {
namespace {

constexpr std::array<std::string_view, 10> kSecretQueryNames = {
    "key", "api_key", "apikey", "api-key", "token", "access_token", "auth", "password", "secret", "client_secret"};

bool ends_url(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '"' || c == '\'' || c == '>'; }

bool is_scheme_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '-' ||
         c == '.';
}

// Offsets just past each "scheme://" in text.
std::vector<size_t> authority_starts(std::string_view text) {
  std::vector<size_t> starts;
  for (size_t sep = text.find("://"); sep != std::string_view::npos; sep = text.find("://", sep + 3)) {
    if (sep > 0 && is_scheme_char(text[sep - 1])) starts.push_back(sep + 3);
  }
  return starts;
}

size_t end_of(std::string_view text, size_t from, std::string_view stop_chars) {
  size_t end = from;
  while (end < text.size() && !ends_url(text[end]) && stop_chars.find(text[end]) == std::string_view::npos) ++end;
  return end;
}

bool is_secret_query_name(std::string_view name) {
  std::string lowered(name);
  std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                 [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; });
  return std::find(kSecretQueryNames.begin(), kSecretQueryNames.end(), lowered) != kSecretQueryNames.end();
}

void collect_query_values(std::string_view text, size_t query_start, std::vector<TextSpan>& spans) {
  size_t query_end = end_of(text, query_start, "#");
  size_t param = query_start;
  while (param < query_end) {
    size_t param_end = std::min(text.find('&', param), query_end);
    size_t equals = text.find('=', param);
    if (equals != std::string_view::npos && equals < param_end && is_secret_query_name(text.substr(param, equals - param)) &&
        param_end > equals + 1) {
      spans.push_back({equals + 1, param_end - equals - 1});
    }
    param = param_end + 1;
  }
}

}  // namespace

std::vector<TextSpan> find_url_passwords(std::string_view text) {
  std::vector<TextSpan> spans;
  for (size_t start : authority_starts(text)) {
    size_t authority_end = end_of(text, start, "/?#");
    std::string_view authority = text.substr(start, authority_end - start);
    size_t at = authority.rfind('@');
    if (at == std::string_view::npos) continue;
    size_t colon = authority.substr(0, at).find(':');
    if (colon == std::string_view::npos || colon + 1 == at) continue;
    spans.push_back({start + colon + 1, at - colon - 1});
  }
  return spans;
}

std::vector<TextSpan> find_secret_query_values(std::string_view text) {
  std::vector<TextSpan> spans;
  for (size_t start : authority_starts(text)) {
    size_t path_end = end_of(text, start, "?#");
    if (path_end < text.size() && text[path_end] == '?') collect_query_values(text, path_end + 1, spans);
  }
  return spans;
}

}  // namespace credtrace::secrets
