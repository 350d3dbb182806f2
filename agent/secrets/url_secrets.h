// Internal: where URLs inside text carry secrets (userinfo passwords, secret-named query parameters).
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace credtrace::secrets {

struct TextSpan {
  size_t offset;
  size_t length;
};

// Password spans of "scheme://user:password@host" URLs in `text` (non-empty passwords only).
std::vector<TextSpan> find_url_passwords(std::string_view text);

// Value spans of query parameters named key, api_key, apikey, token, access_token, auth, password, secret.
std::vector<TextSpan> find_secret_query_values(std::string_view text);

}  // namespace credtrace::secrets
