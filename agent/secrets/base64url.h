// Internal: base64url decoding (RFC 4648 §5, padding optional) shared by the JWT decoder and detectors.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace credtrace::secrets::detail {

// Decodes base64url text; nullopt on a character outside the alphabet or an impossible length.
std::optional<std::string> base64url_decode(std::string_view encoded);

}  // namespace credtrace::secrets::detail
