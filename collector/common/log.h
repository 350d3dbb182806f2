// Collector log lines on stderr ("credtrace-collector: LEVEL: message"); never given tokens or request bodies.
#pragma once

#include <string_view>

namespace credtrace::collector {

void log_info(std::string_view message);
void log_warn(std::string_view message);
void log_error(std::string_view message);

}  // namespace credtrace::collector
