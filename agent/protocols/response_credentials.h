// Public API of response credential extraction: credentials a server issued to the client in an HTTP response.
#pragma once

#include <cstddef>
#include <vector>

#include "protocols/credentials.h"  // CarriedCredential, kGenericMinLength, kGenericMinEntropy, cleanse()
#include "protocols/http1/response_parser.h"

namespace credtrace::protocols {

// JSON objects are searched at the top level and in containers nested up to this many levels below it
// ({"data":{"token":…}} is one level, {"data":[{"token":…}]} two).
inline constexpr size_t kMaxResponseJsonDepth = 3;

// Credentials the server issued to the client (token endpoints, API-key creation, logins):
//  - JSON body fields (top level and nested objects/arrays up to kMaxResponseJsonDepth) and form-encoded body
//    fields named access_token, refresh_token, id_token, token, api_key/apikey, key, client_secret, secret,
//    password, session_token (also camelCase or dashed: accessToken, api-key, …): a typed value (classify_value)
//    gets its typed type, any other value a generic type (oauth_access_token, oauth_refresh_token,
//    generic_token, generic_api_key, oauth_client_secret, password) if it passes the generic rule
//    (kGenericMinLength, kGenericMinEntropy, not a placeholder; for "key" also token-shaped: [A-Za-z0-9_+/=-]
//    with a letter and a digit). Any other string value only if typed. Carrier "response:body:<field>" (the
//    field name lower-cased; strings inside an array are named after the array's field).
//  - Set-Cookie: a cookie whose name contains session, token, auth or sid → typed type or session_cookie; any
//    other cookie only if typed. Carrier "response:set-cookie:<name>" (the cookie name as sent, like the
//    request side's "cookie:<name>").
//  - Typed credentials anywhere in other headers. Carrier "response:header:<name>".
// Bodies with body_encoded are skipped. Never the same (value, carrier) twice. Never throws. The caller
// fingerprints the values, then calls cleanse() on them.
std::vector<CarriedCredential> credentials_in_response(const HttpResponse& response);

}  // namespace credtrace::protocols
