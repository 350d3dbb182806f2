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

// `config_section` names the config file's section that sets what a flag does not ("log" for the agent), or "".
inline void add_flags(CLI::App& app, Flags& flags, bool syslog_prefix_flag, const std::string& config_section) {
  auto fallback = [&](const std::string& key, const std::string& builtin) {
    return " (default: " + (config_section.empty() ? "" : config_section + "." + key + " in the config, else ") +
           builtin + ")";
  };
  app.add_option("--log-level", flags.level,
                 "Diagnostics from this level on: trace, debug, info, warn or error" + fallback("level", "info"))
      ->envname("CREDTRACE_LOG_LEVEL")
      ->check(detail::name_check(parse_level, "trace, debug, info, warn or error"));
  app.add_option("--log-format", flags.format,
                 "Diagnostics as text or json, one object per line" + fallback("format", "text"))
      ->envname("CREDTRACE_LOG_FORMAT")
      ->check(detail::name_check(parse_format, "text or json"));
  if (syslog_prefix_flag) {
    app.add_option("--log-syslog-prefix", flags.syslog_prefix,
                   "The <N> priority prefix journald reads: auto (when stderr is the journal), on or off" +
                       fallback("syslog_prefix", "auto"))
        ->check(detail::name_check(parse_syslog_prefix, "auto, on or off"));
  }
}

}  // namespace credtrace::log
