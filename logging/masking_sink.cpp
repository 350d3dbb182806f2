// The logger's spdlog sink and formatter: secret masking, line layout, one write per line.
#include "logging/masking_sink.h"

#include <string>

namespace credtrace::log {

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::trace: return spdlog::level::trace;
    case Level::debug: return spdlog::level::debug;
    case Level::info: return spdlog::level::info;
    case Level::warn: return spdlog::level::warn;
    case Level::error: return spdlog::level::err;
  }
  return spdlog::level::info;
}

Level from_spdlog(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace: return Level::trace;
    case spdlog::level::debug: return Level::debug;
    case spdlog::level::info: return Level::info;
    case spdlog::level::warn: return Level::warn;
    default: return Level::error;
  }
}

void LineFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  const std::string line =
      format_line(style_, from_spdlog(msg.level), msg.time, std::string_view(msg.payload.data(), msg.payload.size()));
  dest.append(line.data(), line.data() + line.size());
}

MaskingSink::MaskingSink(LineStyle style, std::function<void(std::string_view line)> writer)
    : spdlog::sinks::base_sink<std::mutex>(std::make_unique<LineFormatter>(std::move(style))),
      writer_(std::move(writer)) {}

void MaskingSink::sink_it_(const spdlog::details::log_msg& msg) {
  const std::string masked = mask_secrets(std::string_view(msg.payload.data(), msg.payload.size()));
  spdlog::details::log_msg safe = msg;
  safe.payload = spdlog::string_view_t(masked.data(), masked.size());
  spdlog::memory_buf_t line;
  formatter_->format(safe, line);
  writer_(std::string_view(line.data(), line.size()));
}

}  // namespace credtrace::log
