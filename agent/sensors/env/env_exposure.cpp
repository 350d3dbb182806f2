// Env exposure sensor: applies the name patterns and typed detectors to NAME=VALUE pairs.
#include "sensors/env/env_exposure.h"

#include "events/credential_facts.h"

namespace credtrace::sensors {

std::vector<EnvSecret> EnvExposureSensor::inspect(const std::vector<std::pair<std::string, std::string>>& env) const {
  std::vector<EnvSecret> out;
  for (const auto& [name, value] : env) {
    auto finding = secrets::inspect_env_var(name, value, names_);
    if (!finding) continue;
    EnvSecret s;
    s.name = name;
    s.credential =
        events::describe_credential(fingerprinter_, finding->credential_in(value), finding->type, finding->prefix_len);
    s.matched_name = finding->matched_name;
    s.matched_value = finding->matched_value;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace credtrace::sensors
