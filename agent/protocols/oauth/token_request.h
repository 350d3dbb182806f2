// Public API of the OAuth token-endpoint parser: a token request recognised by its grant_type (form or JSON body,
// any endpoint), what it asked for and presented, and what its answer issued. Raw values stay in these structs
// until the caller has fingerprinted them and called cleanse().
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocols/http1/request_parser.h"
#include "protocols/http1/response_parser.h"

namespace credtrace::protocols::oauth {

// At most this many resource / audience values are kept per request, each at most kMaxPublicValue bytes (longer
// ones are cut and end with "…").
inline constexpr size_t kMaxListValues = 8;
inline constexpr size_t kMaxPublicValue = 256;

// One credential presented to or issued by a token endpoint.
struct ExchangedValue {
  std::string role;          // presented: client_secret, basic_auth, client_assertion, code, refresh_token,
                             // subject_token, actor_token, assertion, password, device_code;
                             // issued: access_token, refresh_token, id_token
  std::string value;         // raw: fingerprint it, then cleanse()
  std::string type;          // classify_value's type (jwt, github_pat, …), else a generic type of the role
                             // (oauth_client_secret, oauth_authorization_code, oauth_refresh_token,
                             // oauth_access_token, oauth_assertion, oauth_device_code, password, generic_token)
  size_t prefix_len = 0;     // public prefix length of a typed value, else 0
  std::string token_type;    // subject_token_type / actor_token_type / issued_token_type / token_type (redacted)
  std::optional<int64_t> expires_in;  // issued access_token: the answer's expires_in
};

// A request whose body names a grant_type.
struct TokenRequest {
  std::string grant_type;  // authorization_code, refresh_token, client_credentials, token_exchange, jwt_bearer,
                           // password, device_code, saml2_bearer, or what was sent (redacted, cut) when another
  std::string client_id;   // body, else the HTTP Basic user name (public; redacted if it looks like a secret)
  std::vector<std::string> resource;  // RFC 8707, repeated parameters or a JSON array
  std::vector<std::string> audience;  // RFC 8693
  std::string scope;
  std::string requested_token_type;   // RFC 8693
  bool pkce = false;                  // a code_verifier was sent (the verifier itself is not reported)
  std::vector<ExchangedValue> presented;
  bool body_truncated = false;        // the body was longer than the parser keeps: the cut field was left out
};

// What parse_token_request made of a request.
struct TokenRequestParse {
  enum class Verdict {
    kNotToken,  // no grant_type in the body
    kToken,     // `request` holds it
    kUnparsed,  // the body mentions grant_type but could not be read (cut or malformed JSON): counted, not guessed
  };
  Verdict verdict = Verdict::kNotToken;
  TokenRequest request;
};

// A request whose form (application/x-www-form-urlencoded, or no type and a form-shaped body) or JSON body has a
// grant_type. Client authentication by HTTP Basic (RFC 6749 §2.3.1: user and password form-encoded) adds
// client_id and a basic_auth credential. Never throws.
TokenRequestParse parse_token_request(const HttpRequest& request);

// The token endpoint's answer.
struct TokenResponse {
  int status = 0;
  std::string error;  // the OAuth error code of an error answer ("invalid_grant"); "<invalid>" when not a code
  std::vector<ExchangedValue> issued;
  bool unparsed = false;  // a body that could not be read (encoded, cut, not JSON or form): nothing issued is known
};

// access_token (with issued_token_type, else token_type, and expires_in), refresh_token and id_token of a JSON or
// form answer's top level, and its error. Never throws.
TokenResponse parse_token_response(const HttpResponse& response);

// The request declares an application/x-www-form-urlencoded body (what token requests send).
bool declares_form_body(const HttpRequest& request);

// The short name of a grant_type value ("urn:ietf:params:oauth:grant-type:token-exchange" → "token_exchange");
// another value is returned as sent.
std::string short_grant_type(std::string_view grant_type);

// Overwrites every raw value (OPENSSL_cleanse) and clears it.
void cleanse(TokenRequest& request);
void cleanse(TokenResponse& response);

}  // namespace credtrace::protocols::oauth
