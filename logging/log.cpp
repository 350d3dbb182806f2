// The process's logger: configuration, the spdlog logger behind the API, level and name parsing, journal detection.
#include "logging/log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <memory>
#include <mutex>

#include "logging/line_format.h"
#include "logging/masking_sink.h"
#include "secrets/argv_redact.h"

namespace credtrace::log {
namespace {

// The whole line in as few write(2) calls as the kernel allows (one, for lines under the pipe buffer size).
void write_to_stderr(std::string_view line) {
  while (!line.empty()) {
    const ssize_t written = ::write(STDERR_FILENO, line.data(), line.size());
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return;
    line.remove_prefix(static_cast<size_t>(written));
  }
}

bool stderr_wants_color() {
  const char* no_color = std::getenv("NO_COLOR");
  const char* term = std::getenv("TERM");
  if (no_color != nullptr && *no_color != '\0') return false;
  if (term != nullptr && std::string_view(term) == "dumb") return false;
  return ::isatty(STDERR_FILENO) == 1;
}

std::shared_ptr<spdlog::logger> make_logger(Options options) {
  LineStyle style;
  style.format = options.format;
  style.component = options.component;
  style.syslog_prefix = options.syslog_prefix == SyslogPrefix::on ||
                        (options.syslog_prefix == SyslogPrefix::automatic && is_journal_stream(STDERR_FILENO));
  style.timestamp = options.timestamps;
  style.color = !options.writer && options.format == Format::text && !style.syslog_prefix && stderr_wants_color();
  std::function<void(std::string_view)> writer = options.writer ? std::move(options.writer) : write_to_stderr;
  auto sink = std::make_shared<MaskingSink>(std::move(style), std::move(writer));
  auto logger = std::make_shared<spdlog::logger>(options.component, std::move(sink));
  logger->set_level(to_spdlog(options.level));
  return logger;
}

// Never destroyed: threads and exit paths may log while static destructors run.
struct State {
  std::mutex mutex;
  std::shared_ptr<spdlog::logger> logger;
  std::atomic<int> level{static_cast<int>(Level::info)};
};

State& state() {
  static State* const instance = new State();
  return *instance;
}

std::shared_ptr<spdlog::logger> current_logger() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (!s.logger) s.logger = make_logger(Options{});
  return s.logger;
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return out;
}

}  // namespace

void configure(Options options) {
  const Level level = options.level;
  std::shared_ptr<spdlog::logger> logger = make_logger(std::move(options));
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.logger = logger;
  s.level.store(static_cast<int>(level));
  spdlog::set_default_logger(std::move(logger));  // a direct spdlog::info() goes through the same masking sink
}

void set_level(Level level) {
  std::shared_ptr<spdlog::logger> logger = current_logger();
  state().level.store(static_cast<int>(level));
  logger->set_level(to_spdlog(level));
}

Level level() { return static_cast<Level>(state().level.load()); }

bool enabled(Level level) { return static_cast<int>(level) >= state().level.load(std::memory_order_relaxed); }

void write(Level level, std::string_view message) {
  if (!enabled(level)) return;
  current_logger()->log(to_spdlog(level), spdlog::string_view_t(message.data(), message.size()));
}

std::string mask_secrets(std::string_view message) { return secrets::redact_text(message); }

std::optional<Level> parse_level(std::string_view name) {
  const std::string lower = lowercase(name);
  if (lower == "trace") return Level::trace;
  if (lower == "debug") return Level::debug;
  if (lower == "info") return Level::info;
  if (lower == "warn" || lower == "warning") return Level::warn;
  if (lower == "error") return Level::error;
  return std::nullopt;
}

std::optional<Format> parse_format(std::string_view name) {
  const std::string lower = lowercase(name);
  if (lower == "text") return Format::text;
  if (lower == "json") return Format::json;
  return std::nullopt;
}

std::optional<SyslogPrefix> parse_syslog_prefix(std::string_view name) {
  const std::string lower = lowercase(name);
  if (lower == "auto") return SyslogPrefix::automatic;
  if (lower == "on" || lower == "true" || lower == "yes") return SyslogPrefix::on;
  if (lower == "off" || lower == "false" || lower == "no") return SyslogPrefix::off;
  return std::nullopt;
}

std::string_view level_name(Level level) {
  switch (level) {
    case Level::trace: return "trace";
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warn";
    case Level::error: return "error";
  }
  return "info";
}

std::string_view format_name(Format format) { return format == Format::json ? "json" : "text"; }

std::string_view syslog_prefix_name(SyslogPrefix prefix) {
  switch (prefix) {
    case SyslogPrefix::automatic: return "auto";
    case SyslogPrefix::on: return "on";
    case SyslogPrefix::off: return "off";
  }
  return "auto";
}

bool is_journal_stream(int fd) {
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (stream == nullptr) return false;
  const std::string_view text(stream);
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) return false;
  char* end = nullptr;
  errno = 0;
  const unsigned long long device = std::strtoull(stream, &end, 10);
  if (errno != 0 || end != stream + colon) return false;
  const unsigned long long inode = std::strtoull(stream + colon + 1, &end, 10);
  if (errno != 0 || *end != '\0') return false;
  struct stat st {};
  if (::fstat(fd, &st) != 0) return false;
  return static_cast<unsigned long long>(st.st_dev) == device && static_cast<unsigned long long>(st.st_ino) == inode;
}

}  // namespace credtrace::log
