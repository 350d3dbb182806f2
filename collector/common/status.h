// Status: success or an error message, returned across collector module boundaries instead of exceptions.
#pragma once

#include <string>
#include <utility>

namespace credtrace::collector {

class Status {
 public:
  Status() = default;
  static Status error(std::string message) { return Status(std::move(message)); }
  bool ok() const { return message_.empty(); }
  const std::string& message() const { return message_; }

 private:
  explicit Status(std::string message) : message_(message.empty() ? "error" : std::move(message)) {}
  std::string message_;
};

}  // namespace credtrace::collector
