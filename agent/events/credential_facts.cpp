// Builds the exported description of a credential from its raw value (which is read here and not kept).
#include "events/credential_facts.h"

#include <string>

#include "events/jwt_claims.h"

namespace credtrace::events {

credtrace::v1::Credential describe_credential(const secrets::Fingerprinter& fingerprinter, std::string_view raw,
                                              std::string_view type, size_t prefix_len) {
  credtrace::v1::Credential credential;
  credential.set_type(std::string(type));
  credential.set_fingerprint(fingerprinter.fingerprint(raw));
  credential.set_preview(secrets::redacted_preview(raw, prefix_len));
  sensors::fill_jwt_claims(raw, &credential);
  return credential;
}

}  // namespace credtrace::events
