// Public API of request credential extraction: which credentials an HTTP request carries, and where.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/http1/request_parser.h"

namespace credtrace::protocols {

struct CarriedCredential {
  std::string value;      // raw: the caller fingerprints it, then calls cleanse()
  std::string type;       // classify_value's type, else bearer_jwt, basic_auth, aws_access_key_id, generic_bearer,
                          // generic_api_key, generic_token, session_cookie, oauth_client_secret,
                          // oauth_refresh_token, oauth_access_token, password, aws_session_token
  size_t prefix_len = 0;  // public prefix length of a typed value (for redacted_preview), else 0
  std::string carrier;    // "header:authorization", "header:x-api-key", "query:api_key", "body:client_secret",
                          // "cookie:session", …
  std::string scheme;     // Authorization scheme: "Bearer", "Basic", "token", "Bot", "AWS4-HMAC-SHA256", else ""
  std::string user;       // Basic: the user name (not a secret), else ""
};

// Context-only ("generic") matches need at least this length and entropy, and must not be placeholders.
inline constexpr size_t kGenericMinLength = 16;
inline constexpr double kGenericMinEntropy = 3.0;

// Credentials in the request's headers (Authorization, API-key headers, cookies, any typed credential in other
// headers), its raw query (as on the wire without '?', may be empty) and its JSON or form body prefix. Never the
// same (value, carrier) twice. Never throws.
std::vector<CarriedCredential> credentials_in_request(const HttpRequest& request, std::string_view raw_query);

// Overwrites the credential value (OPENSSL_cleanse) and clears it.
void cleanse(CarriedCredential& credential);
void cleanse(std::vector<CarriedCredential>& credentials);

}  // namespace credtrace::protocols
