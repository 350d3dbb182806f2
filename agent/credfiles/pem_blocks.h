// Internal: PEM block scanning shared by the PEM parser and values holding a key (service-account private_key).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "secrets/fingerprint.h"

namespace credtrace::credfiles::detail {

struct PemBlock {
  std::string label;          // "RSA PRIVATE KEY", "CERTIFICATE", …
  std::string type;           // private keys: "rsa_private_key", "ec_private_key", "dsa_private_key",
                              // "ssh_private_key", "private_key" (PKCS#8), "encrypted_private_key",
                              // "pgp_private_key"; "" for anything else
  secrets::SecretBytes body;  // base64 body without whitespace and without "Name: value" header lines
  int begin_line = 0;         // 1-based line of the BEGIN line within the scanned text
  bool terminated = false;    // the matching END line was found
};

// Every "-----BEGIN LABEL-----" block, in order. An unterminated block runs to the end of the text.
std::vector<PemBlock> find_pem_blocks(std::string_view text);

}  // namespace credtrace::credfiles::detail
