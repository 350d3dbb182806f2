// Agent diagnostics: timestamped lines on stderr, one write per line.
#include "log.h"

#include <unistd.h>

#include <ctime>

namespace credtrace::log {
namespace {

void write_line(const char* level, const std::string& message) {
  char stamp[32];
  time_t now = time(nullptr);
  struct tm tm{};
  gmtime_r(&now, &tm);
  strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
  std::string line = std::string(stamp) + " " + level + " " + message + "\n";
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

}  // namespace

void info(const std::string& message) { write_line("info", message); }
void warn(const std::string& message) { write_line("warn", message); }
void error(const std::string& message) { write_line("error", message); }

}  // namespace credtrace::log
