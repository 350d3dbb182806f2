// Builds the exported description of a credential from its raw value (which is read here and not kept).
#include "events/credential_facts.h"

#include <string>

#include "events/jwt_claims.h"

namespace credtrace::events {

namespace {

// Everything of the description but its fingerprint.
void describe_value(std::string_view raw, std::string_view type, size_t prefix_len,
                    credtrace::v1::Credential& credential) {
  credential.set_type(std::string(type));
  credential.set_preview(secrets::redacted_preview(raw, prefix_len));
  sensors::fill_jwt_claims(raw, &credential);
}

}  // namespace

credtrace::v1::Credential describe_credential(const secrets::Fingerprinter& fingerprinter, std::string_view raw,
                                              std::string_view type, size_t prefix_len) {
  credtrace::v1::Credential credential;
  credential.set_fingerprint(fingerprinter.fingerprint(raw));
  describe_value(raw, type, prefix_len, credential);
  return credential;
}

KeptCredential::KeptCredential(const credtrace::v1::Credential& credential)
    : type_(credential.type()), preview_(credential.preview()), fingerprint_(credential.fingerprint()) {
  if (credential.has_jwt()) jwt_ = std::make_shared<const credtrace::v1::Jwt>(credential.jwt());
}

credtrace::v1::Credential KeptCredential::to_proto() const {
  credtrace::v1::Credential credential;
  credential.set_type(type_);
  credential.set_fingerprint(fingerprint_.text());
  credential.set_preview(preview_);
  if (jwt_) *credential.mutable_jwt() = *jwt_;
  return credential;
}

const credtrace::v1::Credential& CredentialDescriptions::describe(std::string_view raw, std::string_view type,
                                                                  size_t prefix_len) {
  fingerprinter_.fingerprint_into(raw, fingerprint_);
  auto found = entries_.find(fingerprint_);
  if (found != entries_.end() && found->second.credential.type() == type && found->second.prefix_len == prefix_len)
    return found->second.credential;
  if (found == entries_.end()) {
    if (entries_.size() >= kMaxEntries) {
      entries_.clear();
      ++emptied_;
    }
    found = entries_.try_emplace(fingerprint_).first;
  }
  Entry& entry = found->second;  // new, or described as another type or prefix: described now
  entry.credential.Clear();
  entry.credential.set_fingerprint(fingerprint_);
  entry.prefix_len = prefix_len;
  describe_value(raw, type, prefix_len, entry.credential);
  return entry.credential;
}

}  // namespace credtrace::events
