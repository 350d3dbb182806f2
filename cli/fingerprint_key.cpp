// Fingerprint key selection for `credtrace scan`: --fingerprint-key-file, $CREDTRACE_FINGERPRINT_KEY_FILE, random.
#include "fingerprint_key.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <array>
#include <cstdlib>

namespace credtrace::cli {
namespace {

FingerprintKey from_file(const std::string& path, std::string source) {
  FingerprintKey key;
  key.source = std::move(source);
  key.path = path;
  key.fleet_comparable = true;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    key.error = "fingerprint key file " + path + " does not exist";
    return key;
  }
  std::string error;
  key.fingerprinter = secrets::Fingerprinter::from_key_file(path, &error);
  if (!key.fingerprinter) key.error = error.empty() ? "fingerprint key file " + path + " is unusable" : error;
  return key;
}

FingerprintKey random_key() {
  FingerprintKey key;
  key.source = "random";
  std::array<unsigned char, secrets::Fingerprinter::kGeneratedKeyBytes> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    key.error = "no random bytes for a fingerprint key";
    return key;
  }
  std::string error;
  key.fingerprinter = secrets::Fingerprinter::from_key(
      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), &error);
  OPENSSL_cleanse(bytes.data(), bytes.size());
  if (!key.fingerprinter) key.error = error;
  return key;
}

}  // namespace

FingerprintKey choose_fingerprint_key(const std::string& flag_path) {
  if (!flag_path.empty()) return from_file(flag_path, "flag");
  if (const char* env = std::getenv(kFingerprintKeyEnv); env != nullptr && *env != '\0') return from_file(env, "env");
  return random_key();
}

std::string describe(const FingerprintKey& key) {
  if (key.source == "random") {
    return "fingerprint key: random, for this run only (fingerprints are not comparable across runs or hosts; "
           "pass --fingerprint-key-file with the fleet key to compare them with the agent's)";
  }
  std::string origin = key.source == "flag" ? "--fingerprint-key-file" : std::string("$") + kFingerprintKeyEnv;
  return "fingerprint key: " + key.path + " (" + origin + "; fleet-wide comparable)";
}

}  // namespace credtrace::cli
