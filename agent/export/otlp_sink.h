// OTLP sink: the agent's events as OpenTelemetry log records, through the shared OTLP exporter (otlp/): queued without
// blocking the agent, batched, retried, bounded; its counters as otlp_* entries of agent_health.sensors.
#pragma once

#include <memory>
#include <string>

#include "config/agent_config.h"
#include "export/event_sink.h"
#include "otlp/otlp_exporter.h"

namespace credtrace::exporter {

// Exporter options from the otlp section (otlp::checked_options: endpoint, headers file, CA file); nullopt and *error
// when they cannot work.
std::optional<otlp::OtlpOptions> otlp_options(const config::AgentConfig& config, const std::string& agent_id,
                                              const std::string& version, std::string* error);

class OtlpSink final : public EventSink {
 public:
  explicit OtlpSink(std::unique_ptr<otlp::OtlpExporter> exporter) : exporter_(std::move(exporter)) {}
  void write(const credtrace::v1::Event& event) override { exporter_->enqueue(event); }
  void report(credtrace::v1::AgentHealth& health) const override;
  otlp::OtlpExporter& exporter() { return *exporter_; }

 private:
  std::unique_ptr<otlp::OtlpExporter> exporter_;
};

}  // namespace credtrace::exporter
