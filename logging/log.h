// The one logger of credtrace-agent, credtrace-collector and the credtrace CLI (spdlog underneath): levels, text or
// JSON lines on stderr, journald priority prefixes, and every message masked for secret-shaped values.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace credtrace::log {

enum class Level { trace, debug, info, warn, error };

enum class Format {
  text,  // "[<N>][TIMESTAMP ]COMPONENT: LEVEL: message", one line per message
  json,  // {"ts":…,"level":…,"component":…,"msg":…}, one object per line
};

// The "<N>" syslog priority prefix journald reads from a stderr stream (sd-daemon.h, SyslogLevelPrefix=).
enum class SyslogPrefix {
  automatic,  // when stderr is the journal: $JOURNAL_STREAM names stderr's device and inode (systemd.exec(5))
  on,
  off,
};

struct Options {
  std::string component = "credtrace";  // who is logging: "credtrace-agent", "credtrace-collector", "credtrace scan"
  Level level = Level::info;            // messages below it are dropped before they are formatted
  Format format = Format::text;
  SyslogPrefix syslog_prefix = SyslogPrefix::automatic;
  // Text lines start with a UTC timestamp, except under the syslog prefix (journald stamps every line itself).
  bool timestamps = true;
  // Where each finished line goes, '\n' included. Default: stderr, one write(2) per line, the level word coloured
  // when stderr is a terminal (not with NO_COLOR or TERM=dumb). Tests capture lines here.
  std::function<void(std::string_view line)> writer;
};

// Replaces the configuration of this process's logger; safe while other threads log. Until it is first called
// the logger uses Options{} (component "credtrace", info, text, stderr).
void configure(Options options);

// Changes only the level.
void set_level(Level level);
Level level();
bool enabled(Level level);

// Log one message. Build it from names, paths, counts and error texts, never from a secret's value: the guard below
// masks what looks like a credential (typed tokens, URL passwords, Bearer values, NAME=VALUE secrets), but it is a
// guard, not a licence. Newlines and other control characters are escaped, so one message is one line.
void write(Level level, std::string_view message);
inline void trace(std::string_view message) { write(Level::trace, message); }
inline void debug(std::string_view message) { write(Level::debug, message); }
inline void info(std::string_view message) { write(Level::info, message); }
inline void warn(std::string_view message) { write(Level::warn, message); }
inline void error(std::string_view message) { write(Level::error, message); }

// The guard every message passes through before it is formatted (secrets::redact_text).
std::string mask_secrets(std::string_view message);

// Names as in configuration, flags and output: trace, debug, info, warn (also "warning"), error; text, json;
// auto, on, off (also true/false, yes/no). nullopt for anything else.
std::optional<Level> parse_level(std::string_view name);
std::optional<Format> parse_format(std::string_view name);
std::optional<SyslogPrefix> parse_syslog_prefix(std::string_view name);
std::string_view level_name(Level level);
std::string_view format_name(Format format);
std::string_view syslog_prefix_name(SyslogPrefix prefix);

// True when $JOURNAL_STREAM ("DEVICE:INODE") names the file `fd` refers to: the stream is read by journald.
bool is_journal_stream(int fd);

}  // namespace credtrace::log
