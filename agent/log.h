// Agent diagnostics: credtrace::log::info/warn/error(message) of the shared logger (logging/log.h), under the header
// agent code has always included. Never pass secret values: messages carry names, paths and counts only.
#pragma once

#include "logging/log.h"
