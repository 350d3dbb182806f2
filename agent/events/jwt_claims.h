// JWT facts for exported credentials: claims decoded (never verified) into the event's Credential.jwt.
#pragma once

#include <string_view>

#include "credtrace/v1/events.pb.h"

namespace credtrace::sensors {

// When raw is a JWT, sets credential->jwt (exp, iat, aud, iss, alg, ttl); otherwise leaves it unset.
void fill_jwt_claims(std::string_view raw, credtrace::v1::Credential* credential);

}  // namespace credtrace::sensors
