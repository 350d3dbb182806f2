// Agent diagnostics on stderr. Never pass secret values here: messages carry names, paths and counts only.
#pragma once

#include <string>

namespace credtrace::log {

void info(const std::string& message);
void warn(const std::string& message);
void error(const std::string& message);

}  // namespace credtrace::log
