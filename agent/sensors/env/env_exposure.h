// Env exposure sensor: which environment variables of a process hold secrets, as fingerprints and previews.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "credtrace/v1/events.pb.h"
#include "secrets/env_names.h"
#include "secrets/fingerprint.h"

namespace credtrace::sensors {

struct EnvSecret {
  std::string name;
  credtrace::v1::Credential credential;  // type, fingerprint, preview, JWT facts: never the value
  bool matched_name = false;
  bool matched_value = false;
};

class EnvExposureSensor {
 public:
  EnvExposureSensor(const secrets::NamePatterns& names, const secrets::Fingerprinter& fingerprinter)
      : names_(names), fingerprinter_(fingerprinter) {}
  // The values are only read here; nothing but fingerprints and previews leaves.
  std::vector<EnvSecret> inspect(const std::vector<std::pair<std::string, std::string>>& env) const;

 private:
  const secrets::NamePatterns& names_;
  const secrets::Fingerprinter& fingerprinter_;
};

}  // namespace credtrace::sensors
