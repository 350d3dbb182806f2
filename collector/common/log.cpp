// Collector log lines on stderr: one write(2) per line so concurrent threads never interleave within a line.
#include "common/log.h"

#include <unistd.h>

#include <string>

namespace credtrace::collector {
namespace {

void write_line(std::string_view level, std::string_view message) {
  std::string line = "credtrace-collector: ";
  line.append(level).append(": ").append(message).append("\n");
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

}  // namespace

void log_info(std::string_view message) { write_line("info", message); }
void log_warn(std::string_view message) { write_line("warning", message); }
void log_error(std::string_view message) { write_line("error", message); }

}  // namespace credtrace::collector
