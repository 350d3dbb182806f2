// The fingerprint key of one scan: a key file (flag or environment), else a random key for this run only.
#pragma once

#include <optional>
#include <string>

#include "secrets/fingerprint.h"

namespace credtrace::cli {

struct FingerprintKey {
  std::optional<secrets::Fingerprinter> fingerprinter;  // empty when the named key file is unusable
  std::string source;      // "flag" (--fingerprint-key-file), "env" ($CREDTRACE_FINGERPRINT_KEY_FILE), "random"
  std::string path;        // the key file, "" for random
  bool fleet_comparable = false;  // true for a key file: the same credential gets the agent's fingerprint
  std::string error;       // why the key file cannot be used
};

inline constexpr const char* kFingerprintKeyEnv = "CREDTRACE_FINGERPRINT_KEY_FILE";

// flag_path if not empty, else $CREDTRACE_FINGERPRINT_KEY_FILE, else 32 random bytes. A named key file must
// exist (it is never created here) and pass Fingerprinter::from_key_file's checks (hex, 0600, >= 16 bytes).
FingerprintKey choose_fingerprint_key(const std::string& flag_path);

// One sentence for reports: where the key came from and whether fingerprints compare across hosts and runs.
std::string describe(const FingerprintKey& key);

}  // namespace credtrace::cli
