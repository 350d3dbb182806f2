// The logger's command-line flags, the same in credtrace-agent, credtrace-collector and credtrace (CLI11, header-only):
// --log-level and --log-format (or $CREDTRACE_LOG_LEVEL, $CREDTRACE_LOG_FORMAT), --log-syslog-prefix for daemons.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "logging/log.h"

namespace credtrace::log {

struct Flags {
  std::string level;          // empty when not given
  std::string format;
  std::string syslog_prefix;

  // `base` (defaults, or a config file's settings) with what was given on the command line put over it.
  Options applied_to(Options base) const {
    if (!level.empty()) base.level = *parse_level(level);
    if (!format.empty()) base.format = *parse_format(format);
    if (!syslog_prefix.empty()) base.syslog_prefix = *parse_syslog_prefix(syslog_prefix);
    return base;
  }
};

namespace detail {
template <typename Parse>
CLI::Validator name_check(Parse parse, const std::string& expected) {
  return CLI::Validator(
      [parse, expected](std::string& value) { return parse(value) ? std::string() : "expected " + expected; }, "");
}
}  // namespace detail

// `defaults` names what applies when a flag is not given, for --help ("log.level", "info", …).
inline void add_flags(CLI::App& app, Flags& flags, bool syslog_prefix_flag, const std::string& level_default,
                      const std::string& format_default) {
  app.add_option("--log-level", flags.level,
                 "Diagnostics from this level on: trace, debug, info, warn or error. Default: $CREDTRACE_LOG_LEVEL, "
                 "else " + level_default)
      ->envname("CREDTRACE_LOG_LEVEL")
      ->check(detail::name_check(parse_level, "trace, debug, info, warn or error"));
  app.add_option("--log-format", flags.format,
                 "Diagnostics as text or json (one object per line). Default: $CREDTRACE_LOG_FORMAT, else " +
                     format_default)
      ->envname("CREDTRACE_LOG_FORMAT")
      ->check(detail::name_check(parse_format, "text or json"));
  if (syslog_prefix_flag) {
    app.add_option("--log-syslog-prefix", flags.syslog_prefix,
                   "Start lines with the <N> priority journald reads: auto (when stderr is the journal), on or off")
        ->check(detail::name_check(parse_syslog_prefix, "auto, on or off"));
  }
}

}  // namespace credtrace::log
