// OTLP sink: agent config to exporter options, and the exporter's counters in agent_health.
#include "export/otlp_sink.h"

namespace credtrace::exporter {

std::optional<otlp::OtlpOptions> otlp_options(const config::AgentConfig& config, const std::string& agent_id,
                                              const std::string& version, std::string* error) {
  const config::OtlpConfig& c = config.otlp;
  otlp::OtlpOptions o;
  o.endpoint = c.endpoint;
  o.ca_file = c.ca_file;
  o.resource = {c.service_name, version, agent_id};
  o.batch_max_records = c.batch_max_records;
  o.flush_interval = std::chrono::milliseconds(c.flush_interval_ms);
  o.max_queue_records = c.max_queue_records;
  o.timeout = std::chrono::milliseconds(c.timeout_ms);
  o.retry_initial = std::chrono::milliseconds(c.retry_initial_ms);
  o.retry_max = std::chrono::milliseconds(c.retry_max_ms);
  return otlp::checked_options(std::move(o), c.headers_file, error);
}

void OtlpSink::report(credtrace::v1::AgentHealth& health) const {
  const otlp::OtlpStats s = exporter_->stats();
  auto& sensors = *health.mutable_sensors();
  sensors["otlp_records_sent"] = s.records_sent;
  sensors["otlp_batches_sent"] = s.batches_sent;
  sensors["otlp_send_failures"] = s.send_failures;
  sensors["otlp_records_dropped"] = s.records_dropped;
  sensors["otlp_records_rejected"] = s.records_rejected;
  sensors["otlp_queue_records"] = s.queue_records;
}

}  // namespace credtrace::exporter
