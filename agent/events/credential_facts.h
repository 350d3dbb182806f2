// The one place a found credential becomes its exported description: type, keyed fingerprint, redacted preview
// and JWT facts. Sensors call it where they find a secret; only the description travels on.
#pragma once

#include <cstddef>
#include <string_view>

#include "credtrace/v1/events.pb.h"
#include "secrets/fingerprint.h"

namespace credtrace::events {

// prefix_len: how much of the value's known, non-secret prefix the preview may show (ghp_, sk-…).
credtrace::v1::Credential describe_credential(const secrets::Fingerprinter& fingerprinter, std::string_view raw,
                                              std::string_view type, size_t prefix_len);

}  // namespace credtrace::events
