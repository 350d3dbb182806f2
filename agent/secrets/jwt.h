// Public API of the JWT decoder: header and registered claims, decoded but never verified.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace credtrace::secrets {

// Facts we report about a JWT (TTL, audience, issuer). Absent string claims are empty.
struct JwtClaims {
  std::optional<int64_t> exp, iat, nbf;
  std::string iss, sub;
  std::vector<std::string> aud;  // a string "aud" becomes a one-element list
  std::string alg;               // from the header
};

// Decodes header.payload.signature (base64url, no padding). The signature is never checked.
// nullopt unless there are exactly three parts, header and payload are JSON objects, and the token is at
// most 64 KiB.
std::optional<JwtClaims> decode_jwt(std::string_view token);

}  // namespace credtrace::secrets
