// The logger's spdlog sink: masks secrets in every message, lays it out with LineFormatter, writes it in one piece.
#pragma once

#include <spdlog/formatter.h>
#include <spdlog/sinks/base_sink.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string_view>

#include "logging/line_format.h"

namespace credtrace::log {

// spdlog formatter for LineStyle's text and JSON lines (the message is used as the sink passes it).
class LineFormatter final : public spdlog::formatter {
 public:
  explicit LineFormatter(LineStyle style) : style_(std::move(style)) {}
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<LineFormatter>(style_); }

 private:
  LineStyle style_;
};

// Every message passes mask_secrets() before it is formatted, whoever logs it (our API or spdlog's default logger).
class MaskingSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  MaskingSink(LineStyle style, std::function<void(std::string_view line)> writer);

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override {}

 private:
  std::function<void(std::string_view line)> writer_;
};

// spdlog's level for ours, and back (critical is error, off never reaches a sink).
spdlog::level::level_enum to_spdlog(Level level);
Level from_spdlog(spdlog::level::level_enum level);

}  // namespace credtrace::log
