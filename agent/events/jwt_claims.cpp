// JWT facts for exported credentials: secrets::decode_jwt → Credential.jwt (claims only, no signature, no sub).
#include "events/jwt_claims.h"

#include "secrets/jwt.h"

namespace credtrace::sensors {
namespace {
constexpr int64_t kTimestampMinSeconds = -62135596800;  // 0001-01-01T00:00:00Z
constexpr int64_t kTimestampMaxSeconds = 253402300799;  // 9999-12-31T23:59:59Z
}  // namespace

void fill_jwt_claims(std::string_view raw, credtrace::v1::Credential* credential) {
  auto claims = secrets::decode_jwt(raw);
  if (!claims) return;
  auto* jwt = credential->mutable_jwt();
  // A claim outside google.protobuf.Timestamp's range (years 1 to 9999) is not a time: left out, so the batch stays
  // valid for the collector and exp - iat cannot overflow.
  const auto valid = [](const std::optional<int64_t>& t) {
    return t && *t >= kTimestampMinSeconds && *t <= kTimestampMaxSeconds;
  };
  if (valid(claims->exp)) jwt->mutable_exp()->set_seconds(*claims->exp);
  if (valid(claims->iat)) jwt->mutable_iat()->set_seconds(*claims->iat);
  if (valid(claims->exp) && valid(claims->iat)) jwt->set_ttl_seconds(*claims->exp - *claims->iat);
  for (const auto& audience : claims->aud) jwt->add_aud(audience);
  jwt->set_iss(claims->iss);
  jwt->set_alg(claims->alg);
}

}  // namespace credtrace::sensors
