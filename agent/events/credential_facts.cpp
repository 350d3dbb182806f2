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

const credtrace::v1::Credential& CredentialDescriptions::describe(std::string_view raw, std::string_view type,
                                                                  size_t prefix_len) {
  fingerprinter_.fingerprint_into(raw, fingerprint_);
  if (auto found = entries_.find(fingerprint_); found != entries_.end()) {
    Entry& entry = found->second;
    if (entry.credential.type() == type && entry.prefix_len == prefix_len) return entry.credential;
    entry.credential.Clear();
    entry.credential.set_fingerprint(fingerprint_);
    entry.prefix_len = prefix_len;
    describe_value(raw, type, prefix_len, entry.credential);
    return entry.credential;
  }
  if (entries_.size() >= kMaxEntries) {
    entries_.clear();
    ++emptied_;
  }
  Entry& entry = entries_[fingerprint_];
  entry.credential.set_fingerprint(fingerprint_);
  entry.prefix_len = prefix_len;
  describe_value(raw, type, prefix_len, entry.credential);
  return entry.credential;
}

}  // namespace credtrace::events
