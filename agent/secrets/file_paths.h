// Public API of the path test: whether a value under a secret-looking name names a file rather than holding a secret.
#pragma once

#include <string_view>

namespace credtrace::secrets {

// True for values that read as file paths ("/run/secrets/x", "~/.aws/key", "./key.pem", "../certs/tls.key"):
// a path prefix, only characters paths are written with, and no component shaped like a random key. A
// base64 secret that happens to start with '/' (about 1 in 64 AWS secret access keys) holds a '+' or a long
// mixed-case run with digits, so it is not taken for a path.
bool looks_like_file_path(std::string_view value);

}  // namespace credtrace::secrets
