// Env exposure sensor: applies the name patterns and typed detectors to NAME=VALUE pairs.
#include "sensors/env_exposure.h"

#include "sensors/jwt_claims.h"

namespace credtrace::sensors {

std::vector<EnvSecret> EnvExposureSensor::inspect(const std::vector<std::pair<std::string, std::string>>& env) const {
  std::vector<EnvSecret> out;
  for (const auto& [name, value] : env) {
    auto finding = secrets::inspect_env_var(name, value, names_);
    if (!finding) continue;
    EnvSecret s;
    s.name = name;
    s.type = std::string(finding->type);
    s.fingerprint = fingerprinter_.fingerprint(value);
    s.preview = secrets::redacted_preview(value, finding->prefix_len);
    s.matched_name = finding->matched_name;
    s.matched_value = finding->matched_value;
    fill_jwt_claims(value, &s.jwt);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace credtrace::sensors
