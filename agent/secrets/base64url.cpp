// Base64url decoding (RFC 4648 §5) for the JWT decoder and detectors: the shared decoder, url alphabet only.
#include "secrets/base64url.h"

#include "common/base64.h"

namespace credtrace::secrets::detail {

std::optional<std::string> base64url_decode(std::string_view encoded) {
  return common::base64_decode(encoded, common::Base64Alphabet::url_only);
}

}  // namespace credtrace::secrets::detail
