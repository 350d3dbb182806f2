// WipeGuard: zeroes and clears a string holding a raw secret when the scope ends, on every way out.
#pragma once

#include <openssl/crypto.h>

#include <string>

namespace credtrace::common {

class WipeGuard {
 public:
  explicit WipeGuard(std::string& value) : value_(value) {}
  WipeGuard(const WipeGuard&) = delete;
  WipeGuard& operator=(const WipeGuard&) = delete;
  ~WipeGuard() {
    OPENSSL_cleanse(value_.data(), value_.size());
    value_.clear();
  }

 private:
  std::string& value_;
};

}  // namespace credtrace::common
