// JWT facts for exported credentials: secrets::decode_jwt → Credential.jwt (claims only, no signature, no sub).
#include "events/jwt_claims.h"

#include "secrets/jwt.h"

namespace credtrace::sensors {

void fill_jwt_claims(std::string_view raw, credtrace::v1::Credential* credential) {
  auto claims = secrets::decode_jwt(raw);
  if (!claims) return;
  auto* jwt = credential->mutable_jwt();
  if (claims->exp) jwt->mutable_exp()->set_seconds(*claims->exp);
  if (claims->iat) jwt->mutable_iat()->set_seconds(*claims->iat);
  if (claims->exp && claims->iat) jwt->set_ttl_seconds(*claims->exp - *claims->iat);
  for (const auto& audience : claims->aud) jwt->add_aud(audience);
  jwt->set_iss(claims->iss);
  jwt->set_alg(claims->alg);
}

}  // namespace credtrace::sensors
